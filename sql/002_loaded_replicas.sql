-- grain: one row per participant_replicas row of a completed load
--
-- As loaded_scans: rows of a load package that dlt has not finished loading stay invisible.
create or replace view loaded_replicas as

with

snapshots as (

    select * from participant_replicas

),

completed_loads as (

    select load_id from _dlt_loads
    where status = 0

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        observed_at,
        run_id,
        region,
        account_id,

    from snapshots
    where
        snapshots._dlt_load_id is null
        or snapshots._dlt_load_id in (select completed_loads.load_id from completed_loads)

)

select * from final;
