-- grain: one row per source participant per destination stage per replication period
--
-- A period is a stretch of time during which the participant was replicated into the
-- destination stage, whatever the destination session: its replication episodes
-- (replica_timeline) are joined when one starts no later than the scan that saw the one
-- before it end, so a new destination session that takes over while replication goes on
-- continues the period instead of stopping and starting it. Times as in replica_timeline: the
-- period started with its first episode (NULL while unknown) and stopped with its last (NULL
-- while any episode is ongoing). count_episodes counts the episodes (session-level stretches,
-- still in replica_timeline) it joins.
create or replace view replication_periods as

with

episodes as (

    select * from replica_timeline

),

bounded as (

    select
        *,
        coalesce(observed_stopped_at, 'infinity'::timestamptz) as ends_by,
        if(start_source = 'event', replication_started_at, observed_started_at)
            as known_from_at,
        if(stop_source = 'event', replication_stopped_at, observed_last_active_at)
            as known_until_at

    from episodes

),

joined as (

    select
        *,
        max(ends_by) over (
            partition by source_stage_arn, participant_id, destination_stage_arn
            order by observed_started_at, destination_session_id, source_session_id
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
            partition by source_stage_arn, participant_id, destination_stage_arn
            order by observed_started_at, destination_session_id, source_session_id
            rows between unbounded preceding and current row
        ) as period_number

    from joined

),

periods as (

    select
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        arg_min_null(replication_started_at, observed_started_at) as replication_started_at,
        arg_min_null(start_source, observed_started_at) as start_source,
        bool_or(is_ongoing) as is_ongoing,
        max(replication_stopped_at) as last_stopped_at,
        arg_max_null(stop_source, replication_stopped_at) as last_stop_source,
        arg_min_null(observed_started_after_at, observed_started_at)
            as observed_started_after_at,
        min(observed_started_at) as observed_started_at,
        max(observed_last_active_at) as observed_last_active_at,
        max(observed_stopped_at) as last_observed_stopped_at,
        count(*) as count_episodes,
        count(distinct destination_session_id) as count_destination_sessions,
        bool_or(is_stale) as is_stale,
        min(known_from_at) as known_from_at,
        max(known_until_at) as known_until_at

    from numbered
    group by source_stage_arn, participant_id, destination_stage_arn, period_number

),

final as (

    select
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        replication_started_at,
        start_source,
        if(is_ongoing, null, last_stopped_at) as replication_stopped_at,
        if(is_ongoing, null, last_stop_source) as stop_source,
        observed_started_after_at,
        observed_started_at,
        observed_last_active_at,
        if(is_ongoing, null, last_observed_stopped_at) as observed_stopped_at,
        count_episodes,
        count_destination_sessions,
        is_ongoing,
        start_source != 'unknown' as is_start_known,
        is_stale,
        epoch(if(is_ongoing, null, last_stopped_at)) - epoch(replication_started_at)
            as duration_seconds,
        epoch(known_until_at) - epoch(known_from_at) as known_active_seconds

    from periods

)

select * from final;
