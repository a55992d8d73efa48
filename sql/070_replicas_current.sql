-- grain: one row per replica seen in its participant's latest successful scan
--
-- state_since is when the replica's current unbroken stretch in this state started (the
-- started_at of its ongoing stretch in replica_state_intervals); first_seen_at is its first
-- observation ever. A failed latest scan does not change what is current.
create or replace view replicas_current as

with

intervals as (

    select * from derived_intervals
    where ended_at is null

),

replicas as (

    select * from derived_replicas

),

participants as (

    select * from derived_participants

),

final as (

    select
        intervals.source_stage_arn,
        intervals.participant_id,
        intervals.source_session_id,
        intervals.destination_stage_arn,
        intervals.destination_session_id,
        intervals.replication_state,
        replicas.first_observed_at as first_seen_at,
        intervals.last_seen_at,
        intervals.started_at as state_since,
        participants.region,
        participants.account_id

    from intervals
    inner join replicas
        using (
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id
        )
    inner join participants
        using (source_stage_arn, participant_id)

)

select * from final;
