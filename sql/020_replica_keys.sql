-- grain: one row per replica key ever reported in participant_replicas
--
-- A replica is identified by (source_stage_arn, participant_id, source_session_id,
-- destination_stage_arn, destination_session_id). Only keys a successful scan saw count.
create or replace view replica_keys as

with

replicas as (

    select * from derived_replicas

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id

    from replicas

)

select * from final;
