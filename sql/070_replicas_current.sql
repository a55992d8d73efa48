-- grain: one row per replica seen in its participant's latest successful scan
--
-- state_since is when the replica's current unbroken stretch in this state started (the
-- started_at of its ongoing stretch in replica_state_intervals); first_seen_at is its first
-- observation ever. A failed latest scan does not change what is current.
create or replace view replicas_current as

with

intervals as (

    select * from replica_state_intervals

),

known_participants as (

    select * from scanned_participants

),

with_first_seen as (

    select
        *,
        min(started_at) over (
            partition by
                source_stage_arn,
                participant_id,
                source_session_id,
                destination_stage_arn,
                destination_session_id
        ) as first_seen_at

    from intervals

),

final as (

    select
        with_first_seen.source_stage_arn,
        with_first_seen.participant_id,
        with_first_seen.source_session_id,
        with_first_seen.destination_stage_arn,
        with_first_seen.destination_session_id,
        with_first_seen.replication_state,
        with_first_seen.first_seen_at,
        with_first_seen.last_seen_at,
        with_first_seen.started_at as state_since,
        known_participants.region,
        known_participants.account_id

    from with_first_seen
    inner join known_participants
        using (source_stage_arn, participant_id)
    where with_first_seen.is_ongoing

)

select * from final;
