-- overview: the replicas seen now, by state
--
-- "Now" is each participant's latest successful scan, as in replicas_current.

with

current_replicas as (

    select * from replicas_current

),

final as (

    select
        replication_state,
        count(*) as count_replicas,
        count(distinct row(source_stage_arn, participant_id)) as count_participants,
        count(distinct destination_stage_arn) as count_destination_stages

    from current_replicas
    group by replication_state

)

select * from final
order by replication_state
