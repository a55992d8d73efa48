-- grain: one row per participant (source_stage_arn, participant_id) in the scan ledger
--
-- The one definition of "current" that every view saying current or ongoing uses. The
-- history runs to as_of_at, the latest scan in the dataset. A participant is stale when it
-- has no successful scan within the staleness window before as_of_at: what was seen of it
-- then may have changed since. The window is the DuckDB variable ivs_stale_after when set
-- (`set variable ivs_stale_after = interval 6 hours`), else three times the usual time
-- between runs (the median), else 24 hours. stale_reason says why: 'not_scanned' (no scan
-- at all within the window: dropped from the participants list or from discovery) or
-- 'scans_failing' (scanned, but no scan succeeded).
create or replace view scanned_participants as

with

participants as (

    select * from derived_participants

),

runs as (

    select * from derived_runs

),

run_gaps as (

    select
        epoch(started_at)
        - epoch(lag(started_at) over (order by started_at, run_id)) as gap_seconds

    from runs

),

window_length as (

    select
        coalesce(
            getvariable('ivs_stale_after')::interval,
            to_seconds(3 * median(gap_seconds) filter (where gap_seconds > 0)),
            interval 24 hours
        ) as stale_after

    from run_gaps

),

as_of as (

    select max(last_scanned_at) as as_of_at
    from participants

),

final as (

    select
        participants.source_stage_arn,
        participants.participant_id,
        participants.region,
        participants.account_id,
        participants.first_scanned_at,
        participants.last_scanned_at,
        participants.last_ok_scanned_at,
        as_of.as_of_at,
        coalesce(
            participants.last_ok_scanned_at
            < as_of.as_of_at - window_length.stale_after,
            true
        ) as is_stale,
        case
            when
                participants.last_scanned_at
                < as_of.as_of_at - window_length.stale_after
                then 'not_scanned'
            when
                coalesce(
                    participants.last_ok_scanned_at
                    < as_of.as_of_at - window_length.stale_after,
                    true
                )
                then 'scans_failing'
        end as stale_reason

    from participants
    cross join as_of
    cross join window_length

)

select * from final;
