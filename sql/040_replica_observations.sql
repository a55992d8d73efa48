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
create or replace view replica_observations as

with

observations as (

    select * from derived_observations

),

final as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        replication_state,
        observed_at,
        run_id,
        observation_number,
        previous_observed_at,
        previous_state,
        previous_scanned_at,
        next_scanned_at,
        next_scan_run_id,
        is_seen_in_previous_scan,
        is_seen_in_next_scan,
        is_stretch_start,
        is_stretch_end

    from observations

)

select * from final;
