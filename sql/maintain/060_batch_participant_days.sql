-- step: scans per participant per UTC day, the batch's added to the derived ones
create or replace temp table batch_derived_participant_days as

with

scans as (

    select * from batch_derived_scans

),

known_days as (

    select * from context_participant_days

),

batch as (

    -- UTC days as whole days since the epoch: far cheaper than timezone() on every row
    select
        source_stage_arn,
        participant_id,
        date '1970-01-01' + (epoch_us(scanned_at) // 86400000000)::integer as day,  -- noqa: RF04
        count(*) as count_scans,
        count(*) filter (where is_complete) as count_scans_complete

    from scans
    group by all

),

final as (

    select
        batch.source_stage_arn,
        batch.participant_id,
        batch.day,
        batch.count_scans + coalesce(known_days.count_scans, 0) as count_scans,
        batch.count_scans_complete + coalesce(known_days.count_scans_complete, 0)
            as count_scans_complete

    from batch
    left join known_days
        on
            batch.source_stage_arn = known_days.source_stage_arn
            and batch.participant_id = known_days.participant_id
            and batch.day = known_days.day

)

select * from final;
