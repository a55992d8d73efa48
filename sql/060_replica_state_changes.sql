-- grain: one row per replica per change of state
--
-- A change is detected by a successful scan of the participant (changed_at, run_id) and
-- happened after the participant's previous successful scan (previous_seen_at; NULL if
-- none). Changes are: first appearance (from_state NULL), ACTIVE to STOPPED and back,
-- disappearance (to_state 'GONE': absent from a later successful scan) and reappearance
-- (from_state 'GONE'). Failed scans never produce a change. Each stretch starts with a change
-- into its state, and a stretch that ended by a disappearance adds the change to 'GONE'. A
-- replica first seen by its participant's first successful scan is a first observation
-- (is_first_observation): nothing is known of it before, so it is not a start.
create or replace view replica_state_changes as

with

intervals as (

    select * from derived_intervals

),

sequenced as (

    select
        *,
        lag(replication_state) over replica_history as previous_state,
        lag(end_reason) over replica_history as previous_end_reason

    from intervals
    window replica_history as (
        partition by
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id
        order by started_at
    )

),

appearances_and_state_changes as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        started_at as changed_at,
        case
            when previous_state is null then null
            when previous_end_reason = 'state_change' then previous_state
            else 'GONE'
        end as from_state,
        replication_state as to_state,
        started_after_at as previous_seen_at,
        started_run_id as run_id,
        started_after_at is null as is_first_observation

    from sequenced

),

disappearances as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        ended_at as changed_at,
        replication_state as from_state,
        'GONE' as to_state,
        last_seen_at as previous_seen_at,
        ended_run_id as run_id,
        false as is_first_observation

    from intervals
    where end_reason = 'disappeared'

),

final as (

    select * from appearances_and_state_changes
    union all
    select * from disappearances

)

select * from final;
