-- grain: one row per participant_scans row of a completed load
--
-- dlt writes a load package's row to _dlt_loads (status 0) only once every table of the
-- package is loaded. Reading only those rows keeps a run that was interrupted mid-load
-- invisible until the next run finishes it. Rows without a load id (written by hand) count.
create or replace view loaded_scans as

with

ledger as (

    select * from participant_scans

),

completed_loads as (

    select load_id from _dlt_loads
    where status = 0

),

final as (

    select
        ledger.run_id,
        ledger.source_stage_arn,
        ledger.participant_id,
        ledger.region,
        ledger.account_id,
        ledger.scanned_at,
        ledger.finished_at,
        ledger.status,
        ledger.pages,
        ledger.replica_count,
        ledger.error_code,
        ledger.error_message

    from ledger
    where
        ledger._dlt_load_id is null
        or ledger._dlt_load_id in (select completed_loads.load_id from completed_loads)

)

select * from final;
