-- grain: one row per participant scan (run_id, source_stage_arn, participant_id)
--
-- The scan ledger, deduplicated: a scan logged twice (after a crash recovery, say) counts
-- once. Each successful scan also names the participant's previous and next successful scans
-- (NULL on failed scans): failed scans are skipped, as they say nothing about replicas.
create or replace view scans as

with

ledger as (

    select * from loaded_scans

),

known_participants as (

    select * from scanned_participants

),

identified as (

    select
        ledger.*,
        known_participants.participant_hash,
        known_participants.participant_hash_rank

    from ledger
    inner join known_participants
        using (source_stage_arn, participant_id)

),

sequenced as (

    -- copies of one scan (same participant, status and scanned_at) are peers: the first copy
    -- is kept, so its lag is the previous scan, and the later frame skips its own copies
    select
        *,
        status = 'ok' as is_ok,
        lag(scanned_at) over participant_history as previous_scanned_at,
        first_value(scanned_at) over later_scans as next_scanned_at,
        first_value(run_id) over later_scans as next_run_id

    from identified
    window
        participant_history as (
            partition by participant_hash, participant_hash_rank, status = 'ok'
            order by scanned_at
        ),
        later_scans as (
            participant_history
            rows between current row and unbounded following exclude group
        )

),

deduplicated as (

    select * from sequenced
    where not coalesce(previous_scanned_at = scanned_at, false)

),

final as (

    select
        deduplicated.run_id,
        known_participants.source_stage_arn,
        known_participants.participant_id,
        known_participants.region,
        known_participants.account_id,
        deduplicated.scanned_at,
        deduplicated.finished_at,
        deduplicated.status,
        deduplicated.is_ok,
        deduplicated.pages,
        deduplicated.replica_count,
        deduplicated.error_code,
        deduplicated.error_message,
        case when deduplicated.is_ok then deduplicated.previous_scanned_at end
            as previous_ok_scanned_at,
        case when deduplicated.is_ok then deduplicated.next_scanned_at end as next_ok_scanned_at,
        case when deduplicated.is_ok then deduplicated.next_run_id end as next_ok_run_id,
        deduplicated.participant_hash,
        deduplicated.participant_hash_rank,
        known_participants.is_participant_hash_shared

    from deduplicated
    inner join known_participants
        using (participant_hash, participant_hash_rank)

)

select * from final;
