-- grain: one row per replica key ever reported in participant_replicas
--
-- A replica is identified by (source_stage_arn, participant_id, source_session_id,
-- destination_stage_arn, destination_session_id). replica_hash, a 64-bit hash of the key,
-- with replica_hash_rank (0 unless two keys share a hash, is_replica_hash_shared) identifies
-- it in the other views: sorting and joining on integers is several times faster than on
-- the five strings.
create or replace view replica_keys as

with

replica_rows as (

    select * from loaded_replicas

),

distinct_keys as (

    select distinct
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id

    from replica_rows

),

final as (

    select
        *,
        hash(
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id
        ) as replica_hash,
        row_number() over same_hash - 1 as replica_hash_rank,
        count(*) over same_hash > 1 as is_replica_hash_shared

    from distinct_keys
    window same_hash as (
        partition by replica_hash
        order by
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id
        rows between unbounded preceding and unbounded following
    )

)

select * from final;
