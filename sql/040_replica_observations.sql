-- grain: one row per replica per successful scan that saw it
--
-- Replica rows count only through a successful scan in the ledger; observed_at is that
-- scan's scanned_at. A replica reported twice in one scan (a duplicated row) counts once.
-- Each row names the replica's previous observation and the participant's previous and next
-- successful scans (failed scans are skipped), from which:
--   is_seen_in_previous_scan / is_seen_in_next_scan: the replica was also seen in the
--     participant's previous / next successful scan;
--   is_stretch_start: first row of an unbroken stretch in one state (first appearance,
--     reappearance after a gap, or a change of state);
--   is_stretch_end: last row of such a stretch (the next successful scan saw another state or
--     no such replica, or there is no later successful scan yet).
--
-- The history is sorted on the replica's integer identity from replica_keys rather than on
-- the five strings of its key, which are joined back at the end.
create or replace view replica_observations as

with

replica_rows as (

    select * from loaded_replicas

),

successful_scans as (

    select * from scans
    where is_ok

),

known_replicas as (

    select * from replica_keys

),

participants_sharing_a_hash as (

    select * from scanned_participants
    where is_participant_hash_shared

),

identified as (

    -- matching on the hash is enough, except for keys that share their hash
    select
        known_replicas.replica_hash,
        known_replicas.replica_hash_rank,
        hash(replica_rows.source_stage_arn, replica_rows.participant_id) as participant_hash,
        coalesce(participants_sharing_a_hash.participant_hash_rank, 0)
            as participant_hash_rank,
        replica_rows.run_id,
        replica_rows.replication_state

    from replica_rows
    inner join known_replicas
        on hash(
            replica_rows.source_stage_arn,
            replica_rows.participant_id,
            replica_rows.source_session_id,
            replica_rows.destination_stage_arn,
            replica_rows.destination_session_id
        ) = known_replicas.replica_hash
        and (
            not known_replicas.is_replica_hash_shared
            or (
                replica_rows.source_stage_arn = known_replicas.source_stage_arn
                and replica_rows.participant_id = known_replicas.participant_id
                and replica_rows.source_session_id = known_replicas.source_session_id
                and replica_rows.destination_stage_arn = known_replicas.destination_stage_arn
                and replica_rows.destination_session_id = known_replicas.destination_session_id
            )
        )
    left join participants_sharing_a_hash
        on
            replica_rows.source_stage_arn = participants_sharing_a_hash.source_stage_arn
            and replica_rows.participant_id = participants_sharing_a_hash.participant_id

),

observed as (

    select
        identified.replica_hash,
        identified.replica_hash_rank,
        identified.run_id,
        identified.replication_state,
        successful_scans.scanned_at as observed_at,
        successful_scans.previous_ok_scanned_at as previous_scanned_at,
        successful_scans.next_ok_scanned_at as next_scanned_at,
        successful_scans.next_ok_run_id as next_scan_run_id

    from identified
    inner join successful_scans
        using (participant_hash, participant_hash_rank, run_id)

),

sequenced as (

    -- copies of one observation are peers (same observed_at): the first copy is kept, so its
    -- lag is the previous observation, and the later frame skips its own copies
    select
        *,
        dense_rank() over replica_history as observation_number,
        lag(observed_at) over replica_history as previous_observed_at,
        lag(replication_state) over replica_history as previous_state,
        first_value(observed_at) over later_observations as next_observed_at,
        first_value(replication_state) over later_observations as next_state

    from observed
    window
        replica_history as (
            partition by replica_hash, replica_hash_rank
            order by observed_at
        ),
        later_observations as (
            replica_history
            rows between current row and unbounded following exclude group
        )

),

flagged as (

    select
        *,
        coalesce(previous_observed_at = previous_scanned_at, false)
            as is_seen_in_previous_scan,
        coalesce(next_observed_at = next_scanned_at, false) as is_seen_in_next_scan

    from sequenced
    where not coalesce(previous_observed_at = observed_at, false)

),

final as (

    select
        known_replicas.source_stage_arn,
        known_replicas.participant_id,
        known_replicas.source_session_id,
        known_replicas.destination_stage_arn,
        known_replicas.destination_session_id,
        flagged.replication_state,
        flagged.observed_at,
        flagged.run_id,
        flagged.observation_number,
        flagged.previous_observed_at,
        flagged.previous_state,
        flagged.previous_scanned_at,
        flagged.next_scanned_at,
        flagged.next_scan_run_id,
        flagged.is_seen_in_previous_scan,
        flagged.is_seen_in_next_scan,
        not flagged.is_seen_in_previous_scan
        or flagged.previous_state != flagged.replication_state as is_stretch_start,
        not flagged.is_seen_in_next_scan
        or flagged.next_state != flagged.replication_state as is_stretch_end,
        flagged.replica_hash,
        flagged.replica_hash_rank

    from flagged
    inner join known_replicas
        using (replica_hash, replica_hash_rank)

)

select * from final;
