-- overview: the five latest runs within report's --since/--until window, latest first

with

runs as (

    select * from scan_runs

),

final as (

    select
        run_id,
        started_at,
        finished_at,
        count_participants_ok,
        count_participants_failed,
        count_replicas

    from runs
    where
        started_at >= getvariable('report_since')
        and started_at < getvariable('report_until')

)

select * from final
order by started_at desc
limit 5
