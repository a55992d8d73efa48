-- grain: one row per replica per unbroken stretch in one state
--
-- A stretch starts at the first successful scan that saw the replica in a state (its first
-- appearance, a reappearance or a change of state) and lasts while each following successful
-- scan of the participant sees the replica in that same state. It ends at the first
-- successful scan that saw another state (end_reason 'state_change') or no such replica
-- (end_reason 'disappeared'). While no such scan exists, ended_at and end_reason are NULL.
-- Failed scans never end a stretch. The stretch began after started_after_at (the
-- participant's previous successful scan, NULL if none) and ended after last_seen_at.
create or replace view replica_state_intervals as

with

observations as (

    select * from replica_observations

),

boundaries as (

    select * from observations
    where is_stretch_start or is_stretch_end

),

paired as (

    select
        *,
        lead(observed_at) over replica_boundaries as next_boundary_observed_at,
        lead(observation_number) over replica_boundaries as next_boundary_number,
        lead(next_scanned_at) over replica_boundaries as next_boundary_next_scanned_at,
        lead(is_seen_in_next_scan) over replica_boundaries
            as next_boundary_is_seen_in_next_scan

    from boundaries
    window replica_boundaries as (
        partition by replica_hash, replica_hash_rank
        order by observed_at
    )

),

stretches as (

    -- a start row that is not also an end row is followed by its stretch's end row
    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        observed_at as started_at,
        previous_scanned_at as started_after_at,
        if(is_stretch_end, observed_at, next_boundary_observed_at) as last_seen_at,
        if(is_stretch_end, next_scanned_at, next_boundary_next_scanned_at) as ended_at,
        if(is_stretch_end, is_seen_in_next_scan, next_boundary_is_seen_in_next_scan)
            as is_seen_after_end,
        if(is_stretch_end, 1, next_boundary_number - observation_number + 1)
            as observation_count

    from paired
    where is_stretch_start

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        started_at,
        started_after_at,
        last_seen_at,
        ended_at,
        case
            when ended_at is null then null
            when is_seen_after_end then 'state_change'
            else 'disappeared'
        end as end_reason,
        observation_count,
        ended_at is null as is_ongoing

    from stretches

)

select * from final;
