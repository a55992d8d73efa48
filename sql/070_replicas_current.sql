-- grain: one row per replica seen in its participant's latest successful scan
--
-- state_since is when the replica's current unbroken stretch in this state started (the
-- started_at of its ongoing stretch in replica_state_intervals; is_start_known false when
-- that was the participant's first successful scan); first_seen_at is its first observation
-- ever, last_seen_at the participant's latest successful scan. A failed latest scan does not
-- change what is current. Replicas of stale participants (scanned_participants) are left
-- out, as nobody knows whether they are still there; `set variable ivs_include_stale = true`
-- shows them too, flagged is_stale.
create or replace view replicas_current as

with

ongoing as (

    select * from replica_state_intervals
    where is_ongoing

),

replicas as (

    select * from derived_replicas

),

participants as (

    select * from scanned_participants

),

final as (

    select
        ongoing.source_stage_arn,
        ongoing.participant_id,
        ongoing.source_session_id,
        ongoing.destination_stage_arn,
        ongoing.destination_session_id,
        ongoing.replication_state,
        replicas.first_observed_at as first_seen_at,
        ongoing.last_seen_at,
        ongoing.started_at as state_since,
        ongoing.is_start_known,
        participants.region,
        participants.account_id,
        ongoing.is_stale

    from ongoing
    inner join replicas
        on
            ongoing.source_stage_arn = replicas.source_stage_arn
            and ongoing.participant_id = replicas.participant_id
            and ongoing.source_session_id = replicas.source_session_id
            and ongoing.destination_stage_arn = replicas.destination_stage_arn
            and ongoing.destination_session_id = replicas.destination_session_id
    inner join participants
        on
            ongoing.source_stage_arn = participants.source_stage_arn
            and ongoing.participant_id = participants.participant_id
    where not ongoing.is_stale or coalesce(getvariable('ivs_include_stale'), false)

)

select * from final;
