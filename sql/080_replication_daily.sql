-- grain: one row per UTC day per source stage per destination stage
--
-- Counted from the stretches in replica_state_intervals. A stretch covers the UTC days from
-- its start to its last observation; an ongoing one also covers the days after, up to its
-- participant's latest scan (successful or not), unless the participant is stale. Per day and
-- stage pair:
--   count_replicas_observed: replicas a successful scan saw that day, in any state;
--   count_replicas_active: replicas in an ACTIVE stretch that day, seen or not;
--   count_replicas_started: replicas that changed to ACTIVE that day, seen between two
--     successful scans (STOPPED to ACTIVE, an appearance or a reappearance; a first
--     observation is not a start);
--   count_replicas_stopped: replicas that changed from ACTIVE to STOPPED or GONE that day;
--   count_participants: participants with a replica seen or ACTIVE into the destination stage;
--   is_without_successful_scan: none of those participants had a successful scan that day.
-- A change counts on the day of the scan that detected it.
create or replace view replication_daily as

with

intervals as (

    select * from replica_state_intervals

),

participants as (

    select * from scanned_participants

),

participant_days as (

    select * from derived_participant_days

),

spans as (

    -- UTC days as whole days since the epoch: far cheaper than timezone() on every row
    select
        intervals.*,
        epoch_us(intervals.started_at) // 86400000000 as first_day_number,
        epoch_us(intervals.last_seen_at) // 86400000000 as seen_day_number,
        epoch_us(
            case
                when intervals.ended_at is not null or intervals.is_stale
                    then intervals.last_seen_at
                else greatest(intervals.last_seen_at, participants.last_scanned_at)
            end
        ) // 86400000000 as last_day_number

    from intervals
    inner join participants
        on
            intervals.source_stage_arn = participants.source_stage_arn
            and intervals.participant_id = participants.participant_id

),

covered as (

    select
        spans.*,
        unnest(range(spans.first_day_number, spans.last_day_number + 1)) as day_number

    from spans

),

coverage_flags as (

    select
        covered.day_number,
        covered.source_stage_arn,
        covered.participant_id,
        covered.source_session_id,
        covered.destination_stage_arn,
        covered.destination_session_id,
        covered.day_number in (covered.first_day_number, covered.seen_day_number)
        or (
            covered.day_number < covered.seen_day_number
            and coalesce(participant_days.count_scans_complete > 0, false)
        ) as is_observed,
        covered.replication_state = 'ACTIVE' as is_active,
        covered.replication_state = 'ACTIVE'
        and covered.is_start_known
        and covered.day_number = covered.first_day_number as is_started,
        false as is_stopped,
        coalesce(participant_days.count_scans_complete > 0, false) as is_scanned

    from covered
    left join participant_days
        on
            covered.source_stage_arn = participant_days.source_stage_arn
            and covered.participant_id = participant_days.participant_id
            and date '1970-01-01' + covered.day_number::integer = participant_days.day

),

stops as (

    select
        epoch_us(ended_at) // 86400000000 as day_number,
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        false as is_observed,
        false as is_active,
        false as is_started,
        true as is_stopped,
        true as is_scanned

    from intervals
    where replication_state = 'ACTIVE' and ended_at is not null

),

replica_events as (

    select * from coverage_flags
    union all
    select * from stops

),

replica_days as (

    select
        day_number,
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        bool_or(is_observed) as is_observed,
        bool_or(is_active) as is_active,
        bool_or(is_started) as is_started,
        bool_or(is_stopped) as is_stopped,
        bool_or(is_scanned) as is_scanned

    from replica_events
    group by all

),

final as (

    select
        date '1970-01-01' + day_number::integer as day,  -- noqa: RF04
        source_stage_arn,
        destination_stage_arn,
        count(*) filter (where is_observed) as count_replicas_observed,
        count(*) filter (where is_active) as count_replicas_active,
        count(*) filter (where is_started) as count_replicas_started,
        count(*) filter (where is_stopped) as count_replicas_stopped,
        count(distinct participant_id) filter (where is_observed or is_active)
            as count_participants,
        not bool_or(is_scanned) as is_without_successful_scan

    from replica_days
    group by day_number, source_stage_arn, destination_stage_arn

)

select * from final;
