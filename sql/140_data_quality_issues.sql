-- grain: one row per scan in the ledger with a data quality issue
--
-- issue is one of:
--   'replica_rows_missing': a successful scan whose visible replica rows (of its own load
--     package) are fewer than its replica_count; the history treats it as a failed scan, so
--     that rows that never arrived do not read as disappearances;
--   'replica_rows_extra': more visible replica rows than its replica_count;
--   'out_of_order': the scan arrived in a load package after a later scan of the participant
--     (its participant's history was recomputed around it).
create or replace view data_quality_issues as

with

ledger as (

    select * from derived_scans

),

issues as (

    select
        'replica_rows_missing' as issue,
        *

    from ledger
    where is_ok and count_replica_rows < replica_count

    union all

    select
        'replica_rows_extra' as issue,
        *

    from ledger
    where is_ok and count_replica_rows > replica_count

    union all

    select
        'out_of_order' as issue,
        *

    from ledger
    where is_out_of_order

),

final as (

    select
        issue,
        run_id,
        source_stage_arn,
        participant_id,
        scanned_at,
        status,
        replica_count,
        count_replica_rows,
        load_id

    from issues

)

select * from final;
