-- overview: the replica changes the latest run detected
--
-- latest_run_id is set by 000_latest_run.sql.

with

changes as (

    select * from replica_state_changes

),

final as (

    select
        changed_at,
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        from_state,
        to_state

    from changes
    where run_id = getvariable('latest_run_id')

)

select * from final
order by
    changed_at,
    source_stage_arn,
    participant_id,
    destination_stage_arn,
    destination_session_id
