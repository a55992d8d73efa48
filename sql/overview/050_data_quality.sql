-- overview: data quality issues in the whole history, by kind (none is the good news)

with

issues as (

    select * from data_quality_issues

),

final as (

    select
        issue,
        count(*) as count_scans,
        max(scanned_at) as last_scanned_at

    from issues
    group by issue

)

select * from final
order by issue
