-- grain: one row per replica per unbroken stretch in one state
--
-- A stretch starts at the first successful scan that saw the replica in a state (its first
-- appearance, a reappearance or a change of state) and lasts while each following successful
-- scan of the participant sees the replica in that same state. It ends at the first
-- successful scan that saw another state (end_reason 'state_change') or no such replica
-- (end_reason 'disappeared'). While no such scan exists, ended_at and end_reason are NULL.
-- Failed scans never end a stretch. The stretch began after started_after_at (the
-- participant's previous successful scan) and ended after last_seen_at. A stretch seen first
-- by the participant's first successful scan began at an unknown time (is_start_known false):
-- the replica may have been in that state long before. An ongoing stretch of a stale
-- participant (scanned_participants) is flagged is_stale.
create or replace view replica_state_intervals as

with

intervals as (

    select * from derived_intervals

),

participants as (

    select * from scanned_participants

),

final as (

    select
        intervals.source_stage_arn,
        intervals.participant_id,
        intervals.source_session_id,
        intervals.destination_stage_arn,
        intervals.destination_session_id,
        intervals.replication_state,
        intervals.started_at,
        intervals.started_after_at,
        intervals.last_seen_at,
        intervals.ended_at,
        intervals.end_reason,
        intervals.observation_count,
        intervals.ended_at is null as is_ongoing,
        intervals.started_after_at is not null as is_start_known,
        participants.last_ok_scanned_at,
        intervals.ended_at is null and participants.is_stale as is_stale

    from intervals
    inner join participants
        on
            intervals.source_stage_arn = participants.source_stage_arn
            and intervals.participant_id = participants.participant_id

)

select * from final;
