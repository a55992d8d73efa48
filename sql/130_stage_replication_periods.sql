-- grain: one row per destination stage per period during which it received any replica
--
-- The replication periods of every source participant into the stage (replication_periods),
-- joined where they overlap or meet: the stage received replicas from replication_started_at
-- (NULL while unknown: its first period was seen by a first observation, without a start
-- event) to replication_stopped_at (NULL while ongoing), exact where events exist
-- (start_source, stop_source). count_participants counts the source participants in it.
create or replace view stage_replication_periods as

with

participant_periods as (

    select * from replication_periods

),

bounded as (

    select
        *,
        coalesce(observed_stopped_at, 'infinity'::timestamptz) as ends_by

    from participant_periods

),

joined as (

    select
        *,
        max(ends_by) over (
            partition by destination_stage_arn
            order by observed_started_at, source_stage_arn, participant_id
            rows between unbounded preceding and 1 preceding
        ) as previous_ends_by

    from bounded

),

numbered as (

    select
        *,
        sum(
            case
                when previous_ends_by is null or observed_started_at > previous_ends_by then 1
                else 0
            end
        ) over (
            partition by destination_stage_arn
            order by observed_started_at, source_stage_arn, participant_id
            rows between unbounded preceding and current row
        ) as period_number

    from joined

),

final as (

    select
        destination_stage_arn,
        arg_min_null(replication_started_at, observed_started_at) as replication_started_at,
        arg_min_null(start_source, observed_started_at) as start_source,
        if(bool_or(is_ongoing), null, max(replication_stopped_at)) as replication_stopped_at,
        if(bool_or(is_ongoing), null, arg_max_null(stop_source, replication_stopped_at))
            as stop_source,
        min(observed_started_at) as observed_started_at,
        max(observed_last_active_at) as observed_last_active_at,
        if(bool_or(is_ongoing), null, max(observed_stopped_at)) as observed_stopped_at,
        count(distinct row(source_stage_arn, participant_id)) as count_participants,
        sum(count_episodes) as count_episodes,
        bool_or(is_ongoing) as is_ongoing,
        arg_min_null(start_source, observed_started_at) != 'unknown' as is_start_known,
        bool_or(is_ongoing) and bool_and(is_stale or not is_ongoing) as is_stale

    from numbered
    group by destination_stage_arn, period_number

)

select * from final;
