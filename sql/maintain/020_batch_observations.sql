-- step: the batch's observations, and the seed observations they follow, linked and flagged
--
-- A replica's observations are the rows its participant's complete scans reported (a replica
-- reported twice by one scan counts once, ACTIVE if either copy says so). The seed
-- observations (context_observations: the replicas the seed scan saw, each the latest
-- observation of an open stretch) are recomputed with the batch after them: their next scan,
-- whether it saw them, and whether their stretch ends there. context_replicas holds each
-- replica's derived latest observation and count, for replicas the seed scan did not see.
-- Each observation carries its stretch's start (stretch_*) and its place in the stretch.
create or replace temp table batch_derived_observations as

with

replica_rows as (

    select * from batch_replicas

),

scans as (

    select * from batch_derived_scans
    where is_complete

),

seed_scans as (

    select * from batch_seed_scans

),

seed_observations as (

    select * from context_observations

),

known_replicas as (

    select * from context_replicas

),

observed as (

    select
        replica_rows.source_stage_arn,
        replica_rows.participant_id,
        replica_rows.source_session_id,
        replica_rows.destination_stage_arn,
        replica_rows.destination_session_id,
        min(replica_rows.replication_state) as replication_state,
        scans.scanned_at as observed_at,
        scans.run_id,
        scans.previous_ok_scanned_at as previous_scanned_at,
        scans.previous_ok_run_id as previous_scan_run_id,
        scans.next_ok_scanned_at as next_scanned_at,
        scans.next_ok_run_id as next_scan_run_id

    from replica_rows
    inner join scans
        on
            replica_rows.source_stage_arn = scans.source_stage_arn
            and replica_rows.participant_id = scans.participant_id
            and replica_rows.run_id = scans.run_id
            and replica_rows.load_id is not distinct from scans.load_id
    group by all

),

numbered as (

    select
        observed.*,
        coalesce(known_replicas.observation_count, 0) + row_number() over (
            partition by
                observed.source_stage_arn,
                observed.participant_id,
                observed.source_session_id,
                observed.destination_stage_arn,
                observed.destination_session_id
            order by observed.observed_at, observed.run_id
        ) as observation_number,
        known_replicas.last_observed_at as known_observed_at,
        known_replicas.last_state as known_state,
        known_replicas.last_run_id as known_run_id

    from observed
    left join known_replicas
        on
            observed.source_stage_arn = known_replicas.source_stage_arn
            and observed.participant_id = known_replicas.participant_id
            and observed.source_session_id = known_replicas.source_session_id
            and observed.destination_stage_arn = known_replicas.destination_stage_arn
            and observed.destination_session_id = known_replicas.destination_session_id

),

working_set as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        observed_at,
        run_id,
        observation_number,
        previous_scanned_at,
        previous_scan_run_id,
        next_scanned_at,
        next_scan_run_id,
        known_observed_at,
        known_state,
        known_run_id,
        false as is_seed,
        null::timestamptz as previous_observed_at,
        null::varchar as previous_state,
        null::boolean as is_seen_in_previous_scan,
        null::boolean as is_stretch_start,
        null::timestamptz as stretch_started_at,
        null::timestamptz as stretch_started_after_at,
        null::varchar as stretch_started_run_id,
        null::bigint as stretch_observation_number

    from numbered

    union all

    select
        seed_observations.source_stage_arn,
        seed_observations.participant_id,
        seed_observations.source_session_id,
        seed_observations.destination_stage_arn,
        seed_observations.destination_session_id,
        seed_observations.replication_state,
        seed_observations.observed_at,
        seed_observations.run_id,
        seed_observations.observation_number,
        seed_observations.previous_scanned_at,
        null as previous_scan_run_id,
        seed_scans.next_ok_scanned_at as next_scanned_at,
        seed_scans.next_ok_run_id as next_scan_run_id,
        null as known_observed_at,
        null as known_state,
        null as known_run_id,
        true as is_seed,
        seed_observations.previous_observed_at,
        seed_observations.previous_state,
        seed_observations.is_seen_in_previous_scan,
        seed_observations.is_stretch_start,
        seed_observations.stretch_started_at,
        seed_observations.stretch_started_after_at,
        seed_observations.stretch_started_run_id,
        seed_observations.stretch_observation_number

    from seed_observations
    left join seed_scans
        on
            seed_observations.source_stage_arn = seed_scans.source_stage_arn
            and seed_observations.participant_id = seed_scans.participant_id
            and seed_observations.run_id = seed_scans.run_id

),

neighbours as (

    select
        *,
        row_number() over replica_history as place,
        lag(observed_at) over replica_history as lag_observed_at,
        lag(replication_state) over replica_history as lag_state,
        lag(run_id) over replica_history as lag_run_id,
        lead(replication_state) over replica_history as next_state,
        lead(run_id) over replica_history as next_run_id

    from working_set
    window replica_history as (
        partition by
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id
        order by observed_at, run_id
    )

),

previous_known as (

    -- a batch row first in the working set follows the replica's derived latest observation
    select
        * exclude (previous_observed_at, previous_state, is_seen_in_previous_scan),
        case
            when is_seed then previous_observed_at
            when place = 1 then known_observed_at
            else lag_observed_at
        end as previous_observed_at,
        case
            when is_seed then previous_state
            when place = 1 then known_state
            else lag_state
        end as previous_state,
        case
            when is_seed then is_seen_in_previous_scan
            when place = 1 then coalesce(known_run_id = previous_scan_run_id, false)
            else coalesce(lag_run_id = previous_scan_run_id, false)
        end as is_seen_in_previous_scan

    from neighbours

),

flagged as (

    select
        * exclude (is_stretch_start),
        coalesce(next_run_id = next_scan_run_id, false) as is_seen_in_next_scan,
        case
            when is_seed then is_stretch_start
            else not is_seen_in_previous_scan or previous_state != replication_state
        end as is_stretch_start

    from previous_known

),

stretches as (

    -- each row belongs to the stretch of the latest stretch start (or seed) up to it
    select
        *,
        last_value(
            case when is_seed or is_stretch_start then place end ignore nulls
        ) over replica_so_far as stretch_place

    from flagged
    window replica_so_far as (
        partition by
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id
        order by observed_at, run_id
        rows between unbounded preceding and current row
    )

),

carried as (

    select
        *,
        first_value(if(is_seed, stretch_started_at, observed_at)) over stretch
            as carried_started_at,
        first_value(if(is_seed, stretch_started_after_at, previous_scanned_at)) over stretch
            as carried_started_after_at,
        first_value(if(is_seed, stretch_started_run_id, run_id)) over stretch
            as carried_started_run_id,
        first_value(if(is_seed, stretch_observation_number, 1)) over stretch
        + place
        - stretch_place as carried_observation_number

    from stretches
    window stretch as (
        partition by
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id,
            stretch_place
        order by place
    )

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        observed_at,
        run_id,
        observation_number,
        previous_observed_at,
        previous_state,
        previous_scanned_at,
        next_scanned_at,
        next_scan_run_id,
        is_seen_in_previous_scan,
        is_seen_in_next_scan,
        is_stretch_start,
        not is_seen_in_next_scan or next_state != replication_state as is_stretch_end,
        carried_started_at as stretch_started_at,
        carried_started_after_at as stretch_started_after_at,
        carried_started_run_id as stretch_started_run_id,
        carried_observation_number as stretch_observation_number,
        is_seed

    from carried

)

select * from final;
