-- step: replace the derived rows the working set recomputed, and add the new ones
--
-- The variable oldest_seed_at is the earliest seed scan (NULL when there is none): the seed
-- rows to replace are found among the rows from then on, which the tables' time order makes
-- cheap. Rows are inserted in time order, so that order holds after a rebuild too (DuckDB's
-- min-max statistics per row group then skip all but the latest rows).
update derived_scans
set
    next_ok_scanned_at = batch_seed_scans.next_ok_scanned_at,
    next_ok_run_id = batch_seed_scans.next_ok_run_id
from batch_seed_scans
where
    derived_scans.scanned_at >= getvariable('oldest_seed_at')::timestamptz
    and derived_scans.source_stage_arn = batch_seed_scans.source_stage_arn
    and derived_scans.participant_id = batch_seed_scans.participant_id
    and derived_scans.run_id = batch_seed_scans.run_id;

insert into derived_scans by name
select * from batch_derived_scans  -- noqa: AM04
order by scanned_at;

delete from derived_observations
using context_observations
where
    derived_observations.observed_at >= getvariable('oldest_seed_at')::timestamptz
    and derived_observations.source_stage_arn = context_observations.source_stage_arn
    and derived_observations.participant_id = context_observations.participant_id
    and derived_observations.source_session_id = context_observations.source_session_id
    and derived_observations.destination_stage_arn = context_observations.destination_stage_arn
    and derived_observations.destination_session_id
    = context_observations.destination_session_id
    and derived_observations.run_id = context_observations.run_id;

insert into derived_observations by name
select * exclude (is_seed) from batch_derived_observations  -- noqa: AM04
order by observed_at;

delete from derived_intervals
using context_observations
where
    derived_intervals.ended_at is null
    and derived_intervals.source_stage_arn = context_observations.source_stage_arn
    and derived_intervals.participant_id = context_observations.participant_id
    and derived_intervals.source_session_id = context_observations.source_session_id
    and derived_intervals.destination_stage_arn = context_observations.destination_stage_arn
    and derived_intervals.destination_session_id = context_observations.destination_session_id
    and derived_intervals.last_seen_run_id = context_observations.run_id;

insert into derived_intervals by name
select * from batch_derived_intervals  -- noqa: AM04
order by started_at;

delete from derived_replicas
using batch_derived_replicas
where
    derived_replicas.source_stage_arn = batch_derived_replicas.source_stage_arn
    and derived_replicas.participant_id = batch_derived_replicas.participant_id
    and derived_replicas.source_session_id = batch_derived_replicas.source_session_id
    and derived_replicas.destination_stage_arn = batch_derived_replicas.destination_stage_arn
    and derived_replicas.destination_session_id
    = batch_derived_replicas.destination_session_id;

insert into derived_replicas by name
select * from batch_derived_replicas;  -- noqa: AM04

delete from derived_participants
using batch_derived_participants
where
    derived_participants.source_stage_arn = batch_derived_participants.source_stage_arn
    and derived_participants.participant_id = batch_derived_participants.participant_id;

insert into derived_participants by name
select * from batch_derived_participants;  -- noqa: AM04

delete from derived_participant_days
using batch_derived_participant_days
where
    derived_participant_days.source_stage_arn
    = batch_derived_participant_days.source_stage_arn
    and derived_participant_days.participant_id = batch_derived_participant_days.participant_id
    and derived_participant_days.day = batch_derived_participant_days.day;

insert into derived_participant_days by name
select * from batch_derived_participant_days  -- noqa: AM04
order by day;
