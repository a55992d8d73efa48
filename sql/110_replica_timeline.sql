-- grain: one row per replica per replication episode (an unbroken ACTIVE stretch)
--
-- Snapshots only bound when replication started and stopped: it started after the
-- participant's previous successful scan (observed_started_after_at) and by the scan that first
-- saw it ACTIVE (observed_started_at); it stopped after the last scan that saw it ACTIVE
-- (observed_last_active_at) and by the scan that saw it stopped or gone (observed_stopped_at).
-- Where participant_events has a REPLICATION_STARTED or REPLICATION_STOPPED event for the
-- replica inside those bounds, its event time is exact; otherwise the observation is used.
-- start_source and stop_source say which ('event' or 'observation'; stop_source is NULL while
-- the episode is ongoing and no stop event is known). An episode first seen by the
-- participant's first successful scan, without a start event, started at an unknown time:
-- replication_started_at is NULL and start_source 'unknown'. Durations are in seconds:
-- duration_seconds from start to stop when both are known, known_active_seconds the time it
-- is known to have been ACTIVE (from the start, or the first scan that saw it ACTIVE, to the
-- stop, or the last scan that saw it ACTIVE).
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

timed as (

    select
        episodes.*,
        exact_times.started_event_at,
        exact_times.stopped_event_at,
        case
            when exact_times.started_event_at is not null then exact_times.started_event_at
            when episodes.is_start_known then episodes.started_at
        end as replication_started_at,
        coalesce(exact_times.stopped_event_at, episodes.ended_at) as replication_stopped_at

    from episodes
    left join exact_times
        on
            episodes.source_stage_arn = exact_times.source_stage_arn
            and episodes.participant_id = exact_times.participant_id
            and episodes.source_session_id = exact_times.source_session_id
            and episodes.destination_stage_arn = exact_times.destination_stage_arn
            and episodes.destination_session_id = exact_times.destination_session_id
            and episodes.started_at = exact_times.started_at

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_started_at,
        case
            when started_event_at is not null then 'event'
            when is_start_known then 'observation'
            else 'unknown'
        end as start_source,
        replication_stopped_at,
        case
            when stopped_event_at is not null then 'event'
            when ended_at is not null then 'observation'
        end as stop_source,
        started_after_at as observed_started_after_at,
        started_at as observed_started_at,
        last_seen_at as observed_last_active_at,
        ended_at as observed_stopped_at,
        end_reason,
        observation_count,
        ended_at is null and stopped_event_at is null as is_ongoing,
        started_event_at is not null or is_start_known as is_start_known,
        is_stale and stopped_event_at is null as is_stale,
        epoch(replication_stopped_at) - epoch(replication_started_at) as duration_seconds,
        epoch(coalesce(stopped_event_at, last_seen_at))
        - epoch(coalesce(started_event_at, started_at)) as known_active_seconds

    from timed

)

select * from final;
