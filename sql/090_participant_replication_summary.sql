-- grain: one row per participant (source_stage_arn, participant_id) ever scanned
--
-- Participants whose scans never saw a replica, or that were only scanned by failed scans,
-- are included with zero counts. "Now" means the participant's latest successful scan: the
-- replicas of its ongoing stretches, as in replicas_current; a stale participant
-- (scanned_participants) has none now, and says why in stale_reason.
create or replace view participant_replication_summary as

with

participants as (

    select * from derived_participants

),

freshness as (

    select * from scanned_participants

),

replicas as (

    select * from derived_replicas

),

ongoing as (

    select * from replica_state_intervals
    where is_ongoing and not is_stale

),

replica_history as (

    select
        source_stage_arn,
        participant_id,
        count(*) as count_replicas,
        count(distinct destination_stage_arn) as count_destination_stages,
        min(first_observed_at) as first_replicated_at,
        max(last_observed_at) as last_seen_at

    from replicas
    group by source_stage_arn, participant_id

),

now_history as (

    select
        source_stage_arn,
        participant_id,
        count(*) as count_replicas_now,
        count(*) filter (where replication_state = 'ACTIVE') as count_active_now

    from ongoing
    group by source_stage_arn, participant_id

),

final as (

    select
        participants.source_stage_arn,
        participants.participant_id,
        participants.region,
        participants.account_id,
        coalesce(replica_history.count_replicas, 0) as count_replicas,
        coalesce(replica_history.count_destination_stages, 0) as count_destination_stages,
        coalesce(now_history.count_replicas_now, 0) as count_replicas_now,
        coalesce(now_history.count_active_now, 0) as count_active_now,
        replica_history.first_replicated_at,
        replica_history.last_seen_at,
        participants.last_scanned_at,
        participants.last_scan_status,
        participants.last_error_code,
        participants.last_ok_scanned_at,
        participants.count_scans_ok,
        participants.count_scans_failed,
        freshness.is_stale,
        freshness.stale_reason

    from participants
    inner join freshness
        using (source_stage_arn, participant_id)
    left join replica_history
        using (source_stage_arn, participant_id)
    left join now_history
        using (source_stage_arn, participant_id)

)

select * from final;
