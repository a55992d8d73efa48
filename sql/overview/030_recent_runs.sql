-- overview: the five latest runs, latest first

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

)

select * from final
order by started_at desc
limit 5
