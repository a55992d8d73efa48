-- grain: one row per participant (source_stage_arn, participant_id) ever scanned
--
-- Participants whose scans never saw a replica, or that were only scanned by failed scans,
-- are included with zero counts. "Now" means the participant's latest successful scan. Like
-- replica_observations, only replica rows of successful scans in the ledger count; every
-- figure here is a count of distinct things, a minimum or a maximum, so this view reads the
-- two tables directly (rows loaded twice change nothing) rather than the slower histories.
create or replace view participant_replication_summary as

with

ledger as not materialized (

    select * from loaded_scans

),

replica_rows as (

    select * from loaded_replicas

),

known_participants as (

    select * from scanned_participants

),

distinct_scans as (

    select distinct
        source_stage_arn,
        participant_id,
        run_id,
        status,
        scanned_at,
        error_code

    from ledger

),

scan_history as (

    select
        source_stage_arn,
        participant_id,
        max(scanned_at) as last_scanned_at,
        arg_max_null(status, scanned_at) as last_scan_status,
        arg_max_null(error_code, scanned_at) as last_error_code,
        max(scanned_at) filter (where status = 'ok') as last_ok_scanned_at,
        count(*) filter (where status = 'ok') as count_scans_ok,
        count(*) filter (where status != 'ok') as count_scans_failed

    from distinct_scans
    group by source_stage_arn, participant_id

),

observations as (

    select replica_rows.*
    from replica_rows
    semi join ledger
        on
            replica_rows.run_id = ledger.run_id
            and replica_rows.source_stage_arn = ledger.source_stage_arn
            and replica_rows.participant_id = ledger.participant_id
            and ledger.status = 'ok'

),

replica_history as (

    select
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at,
        arg_max(replication_state, observed_at) as last_state

    from observations
    group by
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id

),

participant_history as (

    select
        replica_history.source_stage_arn,
        replica_history.participant_id,
        count(*) as count_replicas,
        count(distinct replica_history.destination_stage_arn) as count_destination_stages,
        count(*) filter (
            where replica_history.last_observed_at = scan_history.last_ok_scanned_at
        ) as count_replicas_now,
        count(*) filter (
            where replica_history.last_observed_at = scan_history.last_ok_scanned_at
            and replica_history.last_state = 'ACTIVE'
        ) as count_active_now,
        min(replica_history.first_observed_at) as first_replicated_at,
        max(replica_history.last_observed_at) as last_seen_at

    from replica_history
    inner join scan_history
        using (source_stage_arn, participant_id)
    group by replica_history.source_stage_arn, replica_history.participant_id

),

final as (

    select
        known_participants.source_stage_arn,
        known_participants.participant_id,
        known_participants.region,
        known_participants.account_id,
        coalesce(participant_history.count_replicas, 0) as count_replicas,
        coalesce(participant_history.count_destination_stages, 0)
            as count_destination_stages,
        coalesce(participant_history.count_replicas_now, 0) as count_replicas_now,
        coalesce(participant_history.count_active_now, 0) as count_active_now,
        participant_history.first_replicated_at,
        participant_history.last_seen_at,
        scan_history.last_scanned_at,
        scan_history.last_scan_status,
        scan_history.last_error_code,
        scan_history.last_ok_scanned_at,
        scan_history.count_scans_ok,
        scan_history.count_scans_failed

    from known_participants
    inner join scan_history
        using (source_stage_arn, participant_id)
    left join participant_history
        using (source_stage_arn, participant_id)

)

select * from final;
