-- step: each replica the batch observed, with its first and latest observation and count
--
-- A replica seen only by its seed scan keeps its derived row.
create or replace temp table batch_derived_replicas as

with

observations as (

    select * from batch_derived_observations
    where not is_seed

),

known_replicas as (

    select * from context_replicas

),

latest as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at,
        arg_max(run_id, observation_number) as last_run_id,
        arg_max(replication_state, observation_number) as last_state,
        max(observation_number) as observation_count

    from observations
    group by all

),

final as (

    select
        latest.source_stage_arn,
        latest.participant_id,
        latest.source_session_id,
        latest.destination_stage_arn,
        latest.destination_session_id,
        coalesce(known_replicas.first_observed_at, latest.first_observed_at)
            as first_observed_at,
        latest.last_observed_at,
        latest.last_run_id,
        latest.last_state,
        latest.observation_count

    from latest
    left join known_replicas
        on
            latest.source_stage_arn = known_replicas.source_stage_arn
            and latest.participant_id = known_replicas.participant_id
            and latest.source_session_id = known_replicas.source_session_id
            and latest.destination_stage_arn = known_replicas.destination_stage_arn
            and latest.destination_session_id = known_replicas.destination_session_id

)

select * from final;
