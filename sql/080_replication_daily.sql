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

known_replicas as (

    select * from replica_keys

),

replica_days as (

    -- UTC days as whole days since the epoch: far cheaper than timezone() on every row
    select
        epoch_us(observed_at) // 86400000000 as day_number,
        replica_hash,
        replica_hash_rank,
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
    group by day_number, replica_hash, replica_hash_rank

),

disappearances as (

    select distinct
        unnest(disappeared_day_numbers) as day_number,
        replica_hash,
        replica_hash_rank

    from replica_days
    where len(disappeared_day_numbers) > 0

),

replica_events as (

    select
        day_number,
        replica_hash,
        replica_hash_rank,
        true as is_observed,
        is_active,
        is_started,
        is_stopped

    from replica_days

    union all

    select
        day_number,
        replica_hash,
        replica_hash_rank,
        false as is_observed,
        false as is_active,
        false as is_started,
        true as is_stopped

    from disappearances

),

replica_day_flags as (

    select
        day_number,
        replica_hash,
        replica_hash_rank,
        bool_or(is_observed) as is_observed,
        bool_or(is_active) as is_active,
        bool_or(is_started) as is_started,
        bool_or(is_stopped) as is_stopped

    from replica_events
    group by day_number, replica_hash, replica_hash_rank

),

final as (

    select
        date '1970-01-01' + replica_day_flags.day_number::integer as day,  -- noqa: RF04
        known_replicas.source_stage_arn,
        known_replicas.destination_stage_arn,
        count(*) filter (where replica_day_flags.is_observed) as count_replicas_observed,
        count(*) filter (where replica_day_flags.is_active) as count_replicas_active,
        count(*) filter (where replica_day_flags.is_started) as count_replicas_started,
        count(*) filter (where replica_day_flags.is_stopped) as count_replicas_stopped,
        count(distinct known_replicas.participant_id) filter (
            where replica_day_flags.is_observed
        ) as count_participants

    from replica_day_flags
    inner join known_replicas
        using (replica_hash, replica_hash_rank)
    group by
        replica_day_flags.day_number,
        known_replicas.source_stage_arn,
        known_replicas.destination_stage_arn

)

select * from final;
