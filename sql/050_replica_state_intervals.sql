-- grain: one row per replica per unbroken stretch in one state
--
-- A stretch starts at the first successful scan that saw the replica in a state (its first
-- appearance, a reappearance or a change of state) and lasts while each following successful
-- scan of the participant sees the replica in that same state. It ends at the first
-- successful scan that saw another state (end_reason 'state_change') or no such replica
-- (end_reason 'disappeared'). While no such scan exists, ended_at and end_reason are NULL.
-- Failed scans never end a stretch. The stretch began after started_after_at (the
-- participant's previous successful scan, NULL if none) and ended after last_seen_at.
create or replace view replica_state_intervals as

with

intervals as (

    select * from derived_intervals

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        started_at,
        started_after_at,
        last_seen_at,
        ended_at,
        end_reason,
        observation_count,
        ended_at is null as is_ongoing

    from intervals

)

select * from final;
