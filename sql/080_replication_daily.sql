-- grain: one row per UTC day per source stage per destination stage
--
-- day is the UTC calendar day of the successful scans. Per day and stage pair:
--   count_replicas_observed: replicas seen in any state;
--   count_replicas_active: replicas seen ACTIVE;
--   count_replicas_started: replicas that changed to ACTIVE (first appearance as ACTIVE,
--     STOPPED to ACTIVE, or reappearance as ACTIVE);
--   count_replicas_stopped: replicas that changed from ACTIVE to STOPPED or GONE;
--   count_participants: participants with a replica seen into the destination stage.
-- A change counts on the day of the scan that detected it (changed_at in
-- replica_state_changes). There is a row for every day with an observation or a change.
create or replace view replication_daily as

with

observations as (

    select * from replica_observations

),

replica_days as (

    -- UTC days as whole days since the epoch: far cheaper than timezone() on every row
    select
        epoch_us(observed_at) // 86400000000 as day_number,
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        source_session_id,
        destination_session_id,
        bool_or(replication_state = 'ACTIVE') as is_active,
        bool_or(is_stretch_start and replication_state = 'ACTIVE') as is_started,
        bool_or(
            is_stretch_start and is_seen_in_previous_scan and previous_state = 'ACTIVE'
        ) as is_stopped,
        list(epoch_us(next_scanned_at) // 86400000000) filter (
            where replication_state = 'ACTIVE'
            and is_stretch_end
            and next_scanned_at is not null
            and not is_seen_in_next_scan
        ) as disappeared_day_numbers

    from observations
    group by all

),

disappearances as (

    select distinct
        unnest(disappeared_day_numbers) as day_number,
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        source_session_id,
        destination_session_id

    from replica_days
    where len(disappeared_day_numbers) > 0

),

replica_events as (

    select
        day_number,
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        source_session_id,
        destination_session_id,
        true as is_observed,
        is_active,
        is_started,
        is_stopped

    from replica_days

    union all

    select
        day_number,
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        source_session_id,
        destination_session_id,
        false as is_observed,
        false as is_active,
        false as is_started,
        true as is_stopped

    from disappearances

),

replica_day_flags as (

    select
        day_number,
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        source_session_id,
        destination_session_id,
        bool_or(is_observed) as is_observed,
        bool_or(is_active) as is_active,
        bool_or(is_started) as is_started,
        bool_or(is_stopped) as is_stopped

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
        count(distinct participant_id) filter (where is_observed) as count_participants

    from replica_day_flags
    group by day_number, source_stage_arn, destination_stage_arn

)

select * from final;
