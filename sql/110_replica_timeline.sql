-- grain: one row per replica per replication episode (an unbroken ACTIVE stretch)
--
-- Snapshots only bound when replication started and stopped: it started after the
-- participant's previous successful scan (observed_started_after_at) and by the scan that first
-- saw it ACTIVE (observed_started_at); it stopped after the last scan that saw it ACTIVE
-- (observed_last_active_at) and by the scan that saw it stopped or gone (observed_stopped_at).
-- Where participant_events has a REPLICATION_STARTED or REPLICATION_STOPPED event for the
-- replica inside those bounds, its event time is exact; otherwise the observation is used.
-- start_source and stop_source say which ('event' or 'observation'; stop_source is NULL while
-- the episode is ongoing and no stop event is known).
create or replace view replica_timeline as

with

intervals as (

    select * from replica_state_intervals

),

events as (

    select * from participant_events

),

episodes as (

    select * from intervals
    where replication_state = 'ACTIVE'

),

exact_times as (

    select
        episodes.source_stage_arn,
        episodes.participant_id,
        episodes.source_session_id,
        episodes.destination_stage_arn,
        episodes.destination_session_id,
        episodes.started_at,
        max(events.event_at) filter (
            where events.event_name = 'REPLICATION_STARTED'
            and events.event_at <= episodes.started_at
            and (episodes.started_after_at is null or events.event_at > episodes.started_after_at)
        ) as started_event_at,
        min(events.event_at) filter (
            where events.event_name = 'REPLICATION_STOPPED'
            and events.event_at > episodes.last_seen_at
            and (episodes.ended_at is null or events.event_at <= episodes.ended_at)
        ) as stopped_event_at

    from episodes
    inner join events
        on
            episodes.source_stage_arn = events.stage_arn
            and episodes.source_session_id = events.session_id
            and episodes.participant_id = events.participant_id
            and episodes.destination_session_id = events.destination_session_id
    group by all

),

final as (

    select
        episodes.source_stage_arn,
        episodes.participant_id,
        episodes.source_session_id,
        episodes.destination_stage_arn,
        episodes.destination_session_id,
        coalesce(exact_times.started_event_at, episodes.started_at) as replication_started_at,
        if(exact_times.started_event_at is null, 'observation', 'event') as start_source,
        coalesce(exact_times.stopped_event_at, episodes.ended_at) as replication_stopped_at,
        case
            when exact_times.stopped_event_at is not null then 'event'
            when episodes.ended_at is not null then 'observation'
        end as stop_source,
        episodes.started_after_at as observed_started_after_at,
        episodes.started_at as observed_started_at,
        episodes.last_seen_at as observed_last_active_at,
        episodes.ended_at as observed_stopped_at,
        episodes.end_reason,
        episodes.observation_count,
        episodes.ended_at is null and exact_times.stopped_event_at is null as is_ongoing

    from episodes
    left join exact_times
        using (
            source_stage_arn,
            participant_id,
            source_session_id,
            destination_stage_arn,
            destination_session_id,
            started_at
        )

)

select * from final;
