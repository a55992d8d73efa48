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
        snapshots.source_stage_arn,
        snapshots.participant_id,
        snapshots.source_session_id,
        snapshots.destination_stage_arn,
        snapshots.destination_session_id,
        snapshots.replication_state,
        snapshots.observed_at,
        snapshots.run_id,
        snapshots.region,
        snapshots.account_id

    from snapshots
    where
        snapshots._dlt_load_id is null
        or snapshots._dlt_load_id in (select completed_loads.load_id from completed_loads)

)

select * from final;
