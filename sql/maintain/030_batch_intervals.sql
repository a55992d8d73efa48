-- step: the stretches whose last observation is in the working set, as intervals
--
-- A stretch's row is its last observation (is_stretch_end): it ended at the next successful
-- scan, by a change of state if that scan saw the replica, else by its disappearance; without
-- a next successful scan it is still open.
create or replace temp table batch_derived_intervals as

with

observations as (

    select * from batch_derived_observations
    where is_stretch_end

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        stretch_started_at as started_at,
        stretch_started_after_at as started_after_at,
        stretch_started_run_id as started_run_id,
        observed_at as last_seen_at,
        run_id as last_seen_run_id,
        next_scanned_at as ended_at,
        next_scan_run_id as ended_run_id,
        case
            when next_scanned_at is null then null
            when is_seen_in_next_scan then 'state_change'
            else 'disappeared'
        end as end_reason,
        stretch_observation_number as observation_count

    from observations

)

select * from final;
