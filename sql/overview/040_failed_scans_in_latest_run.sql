-- overview: the participants whose scan failed in the latest run
--
-- latest_run_id is set by 000_latest_run.sql.

with

all_scans as (

    select * from scans

),

final as (

    select
        source_stage_arn,
        participant_id,
        scanned_at,
        error_code,
        error_message

    from all_scans
    where not is_ok and run_id = getvariable('latest_run_id')

)

select * from final
order by source_stage_arn, participant_id
