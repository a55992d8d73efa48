-- step: each participant of the batch, its derived row combined with the batch's scans
--
-- The batch's scans of a participant all follow its derived ones (or it has none: a
-- rebuild, or a participant recomputed whole), so the latest scans are the batch's.
create or replace temp table batch_derived_participants as

with

scans as (

    select * from batch_derived_scans

),

known_participants as (

    select * from context_participants

),

batch as (

    select
        source_stage_arn,
        participant_id,
        max(region) as region,
        max(account_id) as account_id,
        min(scanned_at) as first_scanned_at,
        max(scanned_at) as last_scanned_at,
        arg_max(run_id, (scanned_at, run_id)) as last_run_id,
        arg_max(status, (scanned_at, run_id)) as last_scan_status,
        arg_max_null(error_code, (scanned_at, run_id)) as last_error_code,
        max(scanned_at) filter (where is_complete) as last_ok_scanned_at,
        arg_max(run_id, (scanned_at, run_id)) filter (where is_complete) as last_ok_run_id,
        count(*) filter (where is_ok) as count_scans_ok,
        count(*) filter (where not is_ok) as count_scans_failed

    from scans
    group by all

),

final as (

    select
        batch.source_stage_arn,
        batch.participant_id,
        greatest(batch.region, known_participants.region) as region,
        greatest(batch.account_id, known_participants.account_id) as account_id,
        coalesce(known_participants.first_scanned_at, batch.first_scanned_at)
            as first_scanned_at,
        batch.last_scanned_at,
        batch.last_run_id,
        batch.last_scan_status,
        batch.last_error_code,
        coalesce(batch.last_ok_scanned_at, known_participants.last_ok_scanned_at)
            as last_ok_scanned_at,
        coalesce(batch.last_ok_run_id, known_participants.last_ok_run_id) as last_ok_run_id,
        coalesce(known_participants.count_scans_ok, 0) + batch.count_scans_ok
            as count_scans_ok,
        coalesce(known_participants.count_scans_failed, 0) + batch.count_scans_failed
            as count_scans_failed

    from batch
    left join known_participants
        on
            batch.source_stage_arn = known_participants.source_stage_arn
            and batch.participant_id = known_participants.participant_id

)

select * from final;
