-- grain: one row per participant scan (run_id, source_stage_arn, participant_id)
--
-- The scan ledger, deduplicated: a scan logged twice (after a crash recovery, say) counts
-- once. Each successful scan also names the participant's previous and next successful scans
-- (NULL on failed scans): failed scans are skipped, as they say nothing about replicas.
create or replace view scans as

with

ledger as (

    select * from derived_scans

),

final as (

    select
        run_id,
        source_stage_arn,
        participant_id,
        region,
        account_id,
        scanned_at,
        finished_at,
        status,
        is_ok,
        pages,
        replica_count,
        error_code,
        error_message,
        previous_ok_scanned_at,
        next_ok_scanned_at,
        next_ok_run_id

    from ledger

)

select * from final;
