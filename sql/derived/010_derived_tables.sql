-- The derived tables: the history, materialized and kept up to date after each load.
--
-- The raw tables (participant_scans, participant_replicas) stay the source of truth:
-- `ivs-replicas rebuild` recomputes every row here from them. After each load only that
-- load's new rows, and the stretches still open, are read (ivs_replicas.warehouse.maintain).
-- derived_loads lists the load packages whose rows are in, committed in the same
-- transaction as the rows themselves. Plain tables without keys or indexes, so they work
-- the same in a DuckDB file and in a DuckLake.

-- one row: the layout version of these tables, and the last maintenance
create table if not exists derived_state (
    version integer,
    maintained_at timestamptz
);

-- one row per load package whose rows the derived tables hold
create table if not exists derived_loads (
    load_id varchar,
    derived_at timestamptz
);

-- one row per participant per run (scans): the ledger deduplicated, linked
create table if not exists derived_scans (
    run_id varchar,
    source_stage_arn varchar,
    participant_id varchar,
    region varchar,
    account_id varchar,
    scanned_at timestamptz,
    finished_at timestamptz,
    status varchar,
    pages bigint,
    replica_count bigint,
    error_code varchar,
    error_message varchar,
    load_id varchar,
    count_replica_rows bigint,
    is_ok boolean,
    is_complete boolean,
    is_out_of_order boolean,
    previous_ok_scanned_at timestamptz,
    previous_ok_run_id varchar,
    next_ok_scanned_at timestamptz,
    next_ok_run_id varchar
);

-- one row per replica per successful scan that saw it (replica_observations)
create table if not exists derived_observations (
    source_stage_arn varchar,
    participant_id varchar,
    source_session_id varchar,
    destination_stage_arn varchar,
    destination_session_id varchar,
    replication_state varchar,
    observed_at timestamptz,
    run_id varchar,
    observation_number bigint,
    previous_observed_at timestamptz,
    previous_state varchar,
    previous_scanned_at timestamptz,
    next_scanned_at timestamptz,
    next_scan_run_id varchar,
    is_seen_in_previous_scan boolean,
    is_seen_in_next_scan boolean,
    is_stretch_start boolean,
    is_stretch_end boolean,
    stretch_started_at timestamptz,
    stretch_started_after_at timestamptz,
    stretch_started_run_id varchar,
    stretch_observation_number bigint
);

-- one row per replica per unbroken stretch in one state (replica_state_intervals)
create table if not exists derived_intervals (
    source_stage_arn varchar,
    participant_id varchar,
    source_session_id varchar,
    destination_stage_arn varchar,
    destination_session_id varchar,
    replication_state varchar,
    started_at timestamptz,
    started_after_at timestamptz,
    started_run_id varchar,
    last_seen_at timestamptz,
    last_seen_run_id varchar,
    ended_at timestamptz,
    ended_run_id varchar,
    end_reason varchar,
    observation_count bigint
);

-- one row per replica key ever seen by a successful scan (replica_keys)
create table if not exists derived_replicas (
    source_stage_arn varchar,
    participant_id varchar,
    source_session_id varchar,
    destination_stage_arn varchar,
    destination_session_id varchar,
    first_observed_at timestamptz,
    last_observed_at timestamptz,
    last_run_id varchar,
    last_state varchar,
    observation_count bigint
);

-- one row per participant in the ledger: its latest scans and counts (scanned_participants)
create table if not exists derived_participants (
    source_stage_arn varchar,
    participant_id varchar,
    region varchar,
    account_id varchar,
    first_scanned_at timestamptz,
    last_scanned_at timestamptz,
    last_run_id varchar,
    last_scan_status varchar,
    last_error_code varchar,
    last_ok_scanned_at timestamptz,
    last_ok_run_id varchar,
    count_scans_ok bigint,
    count_scans_failed bigint
);

-- one row per participant per UTC day with a scan
create table if not exists derived_participant_days (
    source_stage_arn varchar,
    participant_id varchar,
    day date,
    count_scans bigint,
    count_scans_complete bigint
);

-- one row per run (scan_runs)
create table if not exists derived_runs (
    run_id varchar,
    started_at timestamptz,
    finished_at timestamptz,
    count_participants bigint,
    count_participants_ok bigint,
    count_participants_failed bigint,
    count_replicas bigint,
    count_pages bigint
);
