-- grain: one row per participant (source_stage_arn, participant_id) in the scan ledger
--
-- participant_hash, a 64-bit hash of the participant, with participant_hash_rank (0 unless
-- two participants share a hash, is_participant_hash_shared) identifies the participant in
-- the other views: sorting and joining on integers is several times faster than on strings.
create or replace view scanned_participants as

with

ledger as (

    select * from loaded_scans

),

distinct_participants as (

    select
        source_stage_arn,
        participant_id,
        max(region) as region,
        max(account_id) as account_id

    from ledger
    group by source_stage_arn, participant_id

),

final as (

    select
        source_stage_arn,
        participant_id,
        region,
        account_id,
        hash(source_stage_arn, participant_id) as participant_hash,
        row_number() over same_hash - 1 as participant_hash_rank,
        count(*) over same_hash > 1 as is_participant_hash_shared

    from distinct_participants
    window same_hash as (
        partition by participant_hash
        order by source_stage_arn, participant_id
        rows between unbounded preceding and unbounded following
    )

)

select * from final;
