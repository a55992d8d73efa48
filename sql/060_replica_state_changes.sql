-- grain: one row per replica per change of state
--
-- A change is detected by a successful scan of the participant (changed_at, run_id) and
-- happened after the participant's previous successful scan (previous_seen_at; NULL if
-- none). Changes are: first appearance (from_state NULL), ACTIVE to STOPPED and back,
-- disappearance (to_state 'GONE': absent from a later successful scan) and reappearance
-- (from_state 'GONE'). Failed scans never produce a change.
create or replace view replica_state_changes as

with

observations as (

    select * from replica_observations

),

boundaries as (

    select * from observations
    where is_stretch_start or is_stretch_end

),

appearances_and_state_changes as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        observed_at as changed_at,
        case
            when previous_observed_at is null then null
            when is_seen_in_previous_scan then previous_state
            else 'GONE'
        end as from_state,
        replication_state as to_state,
        previous_scanned_at as previous_seen_at,
        run_id

    from boundaries
    where is_stretch_start

),

disappearances as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        next_scanned_at as changed_at,
        replication_state as from_state,
        'GONE' as to_state,
        observed_at as previous_seen_at,
        next_scan_run_id as run_id

    from boundaries
    where
        is_stretch_end
        and next_scanned_at is not null
        and not is_seen_in_next_scan

),

final as (

    select * from appearances_and_state_changes
    union all
    select * from disappearances

)

select * from final;
