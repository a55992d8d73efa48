-- grain: one row per participant (source_stage_arn, participant_id) in the scan ledger
--
-- Read from derived_participants, which each maintenance keeps up to date.
create or replace view scanned_participants as

with

participants as (

    select * from derived_participants

),

final as (

    select
        source_stage_arn,
        participant_id,
        region,
        account_id

    from participants

)

select * from final;
