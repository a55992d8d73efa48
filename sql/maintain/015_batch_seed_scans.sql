-- step: each seed scan's next successful scan, now that the batch follows it
--
-- A seed is a participant's latest successful scan before the batch; its derived row gains
-- the batch's first successful scan of the participant as its next one.
create or replace temp table batch_seed_scans as

with

seeds as (

    select * from context_participants
    where last_ok_scanned_at is not null

),

scans as (

    select * from batch_derived_scans
    where is_complete

),

final as (

    select
        seeds.source_stage_arn,
        seeds.participant_id,
        seeds.last_ok_run_id as run_id,
        seeds.last_ok_scanned_at as scanned_at,
        min(scans.scanned_at) as next_ok_scanned_at,
        arg_min(scans.run_id, (scans.scanned_at, scans.run_id)) as next_ok_run_id

    from seeds
    inner join scans
        on
            seeds.source_stage_arn = scans.source_stage_arn
            and seeds.participant_id = scans.participant_id
    group by all

)

select * from final;
