"""Golden tests of the history views: hand-written scan histories in, exact rows out."""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ivs_replicas import synthetic_history
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.sources.ivs_realtime.settings import SCANS_TABLE
from ivs_replicas.warehouse import catalog, derived, dictionary, views
from ivs_replicas.warehouse.database import default_schema

from . import views_model
from .views_fixtures import (
    ACCOUNT_ID,
    DST_X,
    DST_Y,
    REGION,
    SRC_A,
    SRC_B,
    Replica,
    Row,
    Scan,
    active,
    at,
    column_types,
    failed,
    history_database,
    key,
    load,
    ok,
    run_id,
    sort_key,
    stopped,
    view_columns,
    view_rows,
)

README = Path(__file__).resolve().parents[1] / "README.md"
DAY_1 = date(2025, 3, 1)
DAY_2 = date(2025, 3, 2)
KEY = [
    "source_stage_arn",
    "participant_id",
    "source_session_id",
    "destination_stage_arn",
    "destination_session_id",
]

# The columns of each view, in order: the public contract (hash columns aside).
COLUMNS = {
    "loaded_scans": [
        "run_id",
        "source_stage_arn",
        "participant_id",
        "region",
        "account_id",
        "scanned_at",
        "finished_at",
        "status",
        "pages",
        "replica_count",
        "error_code",
        "error_message",
    ],
    "loaded_replicas": [
        "source_stage_arn",
        "participant_id",
        "source_session_id",
        "destination_stage_arn",
        "destination_session_id",
        "replication_state",
        "observed_at",
        "run_id",
        "region",
        "account_id",
    ],
    "scanned_participants": [
        "source_stage_arn",
        "participant_id",
        "region",
        "account_id",
    ],
    "replica_keys": KEY,
    "scans": [
        "run_id",
        "source_stage_arn",
        "participant_id",
        "region",
        "account_id",
        "scanned_at",
        "finished_at",
        "status",
        "is_ok",
        "pages",
        "replica_count",
        "error_code",
        "error_message",
        "previous_ok_scanned_at",
        "next_ok_scanned_at",
        "next_ok_run_id",
    ],
    "replica_observations": [
        *KEY,
        "replication_state",
        "observed_at",
        "run_id",
        "observation_number",
        "previous_observed_at",
        "previous_state",
        "previous_scanned_at",
        "next_scanned_at",
        "next_scan_run_id",
        "is_seen_in_previous_scan",
        "is_seen_in_next_scan",
        "is_stretch_start",
        "is_stretch_end",
    ],
    "replica_state_intervals": [
        *KEY,
        "replication_state",
        "started_at",
        "started_after_at",
        "last_seen_at",
        "ended_at",
        "end_reason",
        "observation_count",
        "is_ongoing",
    ],
    "replica_state_changes": [
        *KEY,
        "changed_at",
        "from_state",
        "to_state",
        "previous_seen_at",
        "run_id",
    ],
    "replicas_current": [
        *KEY,
        "replication_state",
        "first_seen_at",
        "last_seen_at",
        "state_since",
        "region",
        "account_id",
    ],
    "replication_daily": [
        "day",
        "source_stage_arn",
        "destination_stage_arn",
        "count_replicas_observed",
        "count_replicas_active",
        "count_replicas_started",
        "count_replicas_stopped",
        "count_participants",
    ],
    "participant_replication_summary": [
        "source_stage_arn",
        "participant_id",
        "region",
        "account_id",
        "count_replicas",
        "count_destination_stages",
        "count_replicas_now",
        "count_active_now",
        "first_replicated_at",
        "last_seen_at",
        "last_scanned_at",
        "last_scan_status",
        "last_error_code",
        "last_ok_scanned_at",
        "count_scans_ok",
        "count_scans_failed",
    ],
    "scan_runs": [
        "run_id",
        "started_at",
        "finished_at",
        "count_participants",
        "count_participants_ok",
        "count_participants_failed",
        "count_replicas",
        "count_pages",
    ],
    "replica_timeline": [
        "source_stage_arn",
        "participant_id",
        "source_session_id",
        "destination_stage_arn",
        "destination_session_id",
        "replication_started_at",
        "start_source",
        "replication_stopped_at",
        "stop_source",
        "observed_started_after_at",
        "observed_started_at",
        "observed_last_active_at",
        "observed_stopped_at",
        "end_reason",
        "observation_count",
        "is_ongoing",
    ],
}
# The columns the golden histories below check (the contract before the columns that say
# how much is known: staleness, unknown starts, durations); the edge cases check those.
GOLDEN = {view: list(columns) for view, columns in COLUMNS.items()}
ADDED = {
    "scanned_participants": [
        "first_scanned_at",
        "last_scanned_at",
        "last_ok_scanned_at",
        "as_of_at",
        "is_stale",
        "stale_reason",
    ],
    "replica_state_intervals": ["is_start_known", "last_ok_scanned_at", "is_stale"],
    "replica_state_changes": ["is_first_observation"],
    "replicas_current": ["is_start_known", "region", "account_id", "is_stale"],
    "replication_daily": ["is_without_successful_scan"],
    "participant_replication_summary": ["is_stale", "stale_reason"],
    "replica_timeline": [
        "is_start_known",
        "is_stale",
        "duration_seconds",
        "known_active_seconds",
    ],
}
COLUMNS = {
    view: [column for column in columns if column not in ADDED.get(view, [])] + ADDED.get(view, [])
    for view, columns in COLUMNS.items()
}
COLUMNS["replication_periods"] = [
    "source_stage_arn",
    "participant_id",
    "destination_stage_arn",
    "replication_started_at",
    "start_source",
    "replication_stopped_at",
    "stop_source",
    "observed_started_after_at",
    "observed_started_at",
    "observed_last_active_at",
    "observed_stopped_at",
    "count_episodes",
    "count_destination_sessions",
    "is_ongoing",
    "is_start_known",
    "is_stale",
    "duration_seconds",
    "known_active_seconds",
]
COLUMNS["stage_replication_periods"] = [
    "destination_stage_arn",
    "replication_started_at",
    "start_source",
    "replication_stopped_at",
    "stop_source",
    "observed_started_at",
    "observed_last_active_at",
    "observed_stopped_at",
    "count_participants",
    "count_episodes",
    "is_ongoing",
    "is_start_known",
    "is_stale",
]
COLUMNS["data_quality_issues"] = [
    "issue",
    "run_id",
    "source_stage_arn",
    "participant_id",
    "scanned_at",
    "status",
    "replica_count",
    "count_replica_rows",
    "load_id",
]
HISTORY_VIEWS = [
    "replica_state_intervals",
    "replica_state_changes",
    "replicas_current",
    "replication_daily",
    "participant_replication_summary",
    "scan_runs",
]
Expected = dict[str, list[Row]]


def summary(
    participant: str,
    counts: tuple[int, int, int, int],
    replicated: tuple[int, int] | None,
    last_hour: int,
    scans: tuple[int, int],
    stage: str = SRC_A,
    last_ok_hour: int | None = None,
) -> Row:
    """A participant_replication_summary row: (replicas, destinations, now, active now)."""
    last_ok = at(last_hour if last_ok_hour is None else last_ok_hour)
    is_last_ok = last_ok_hour is None
    first, last = (at(replicated[0]), at(replicated[1])) if replicated else (None, None)
    return (
        stage,
        participant,
        REGION,
        ACCOUNT_ID,
        *counts,
        first,
        last,
        at(last_hour),
        "ok" if is_last_ok else "failed",
        None if is_last_ok else "ThrottlingException",
        last_ok,
        *scans,
    )


def run(hour: int, ok_count: int, failed_count: int, replicas: int) -> Row:
    """A scan_runs row for the run at `hour`."""
    return (
        run_id(hour),
        at(hour),
        at(hour) + timedelta(seconds=2),
        ok_count + failed_count,
        ok_count,
        failed_count,
        replicas,
        ok_count,
    )


def cases(expected: Expected) -> list[tuple[str, list[Row]]]:
    """(view, rows) pairs to parametrize one history's test over every history view."""
    return [(view, expected[view]) for view in HISTORY_VIEWS]


@functools.cache
def shared_history(scans: tuple[Scan, ...], copies: int) -> duckdb.DuckDBPyConnection:
    """One in-memory database per history, read by every view's case of it (never written)."""
    return history_database(scans, copies)


def assert_view(scans: list[Scan], view: str, expected: list[Row], copies: int = 1) -> None:
    """The view's rows (the columns GOLDEN checks) for this history are the expected ones."""
    connection = shared_history(tuple(scans), copies)
    assert view_rows(connection, view, GOLDEN[view]) == sorted(expected, key=sort_key)


K1 = key("p1")
K2 = key("p2")

STATE_FLIPS = [
    ok(1, "p1", active()),
    ok(2, "p1", stopped()),
    ok(3, "p1", stopped()),
    ok(4, "p1", active()),
]
STATE_FLIPS_EXPECTED: Expected = {
    "replica_state_intervals": [
        (*K1, "ACTIVE", at(1), None, at(1), at(2), "state_change", 1, False),
        (*K1, "STOPPED", at(2), at(1), at(3), at(4), "state_change", 2, False),
        (*K1, "ACTIVE", at(4), at(3), at(4), None, None, 1, True),
    ],
    "replica_state_changes": [
        (*K1, at(1), None, "ACTIVE", None, run_id(1)),
        (*K1, at(2), "ACTIVE", "STOPPED", at(1), run_id(2)),
        (*K1, at(4), "STOPPED", "ACTIVE", at(3), run_id(4)),
    ],
    "replicas_current": [(*K1, "ACTIVE", at(1), at(4), at(4), REGION, ACCOUNT_ID)],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 1, 1, 1, 1, 1)],
    "participant_replication_summary": [summary("p1", (1, 1, 1, 1), (1, 4), 4, (4, 0))],
    "scan_runs": [run(1, 1, 0, 1), run(2, 1, 0, 1), run(3, 1, 0, 1), run(4, 1, 0, 1)],
}

DISAPPEARS = [ok(1, "p1", active()), ok(2, "p1", active()), ok(3, "p1")]
DISAPPEARS_EXPECTED: Expected = {
    "replica_state_intervals": [
        (*K1, "ACTIVE", at(1), None, at(2), at(3), "disappeared", 2, False),
    ],
    "replica_state_changes": [
        (*K1, at(1), None, "ACTIVE", None, run_id(1)),
        (*K1, at(3), "ACTIVE", "GONE", at(2), run_id(3)),
    ],
    "replicas_current": [],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 1, 1, 0, 1, 1)],
    "participant_replication_summary": [summary("p1", (1, 1, 0, 0), (1, 2), 3, (3, 0))],
    "scan_runs": [run(1, 1, 0, 1), run(2, 1, 0, 1), run(3, 1, 0, 0)],
}

REAPPEARS = [ok(1, "p1", active()), ok(2, "p1"), ok(3, "p1", active()), ok(4, "p1", active())]
REAPPEARS_EXPECTED: Expected = {
    "replica_state_intervals": [
        (*K1, "ACTIVE", at(1), None, at(1), at(2), "disappeared", 1, False),
        (*K1, "ACTIVE", at(3), at(2), at(4), None, None, 2, True),
    ],
    "replica_state_changes": [
        (*K1, at(1), None, "ACTIVE", None, run_id(1)),
        (*K1, at(2), "ACTIVE", "GONE", at(1), run_id(2)),
        (*K1, at(3), "GONE", "ACTIVE", at(2), run_id(3)),
    ],
    "replicas_current": [(*K1, "ACTIVE", at(1), at(4), at(3), REGION, ACCOUNT_ID)],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 1, 1, 1, 1, 1)],
    "participant_replication_summary": [summary("p1", (1, 1, 1, 1), (1, 4), 4, (4, 0))],
    "scan_runs": [run(1, 1, 0, 1), run(2, 1, 0, 0), run(3, 1, 0, 1), run(4, 1, 0, 1)],
}

FAILED_WITHOUT_CHANGE = [ok(1, "p1", active()), failed(2, "p1"), ok(3, "p1", active())]
FAILED_WITHOUT_CHANGE_EXPECTED: Expected = {
    "replica_state_intervals": [(*K1, "ACTIVE", at(1), None, at(3), None, None, 2, True)],
    "replica_state_changes": [(*K1, at(1), None, "ACTIVE", None, run_id(1))],
    "replicas_current": [(*K1, "ACTIVE", at(1), at(3), at(1), REGION, ACCOUNT_ID)],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 1, 1, 0, 0, 1)],
    "participant_replication_summary": [summary("p1", (1, 1, 1, 1), (1, 3), 3, (2, 1))],
    "scan_runs": [run(1, 1, 0, 1), run(2, 0, 1, 0), run(3, 1, 0, 1)],
}

FAILED_WITH_CHANGE = [ok(1, "p1", active()), failed(2, "p1"), ok(3, "p1", stopped())]
FAILED_WITH_CHANGE_EXPECTED: Expected = {
    "replica_state_intervals": [
        (*K1, "ACTIVE", at(1), None, at(1), at(3), "state_change", 1, False),
        (*K1, "STOPPED", at(3), at(1), at(3), None, None, 1, True),
    ],
    "replica_state_changes": [
        (*K1, at(1), None, "ACTIVE", None, run_id(1)),
        (*K1, at(3), "ACTIVE", "STOPPED", at(1), run_id(3)),
    ],
    "replicas_current": [(*K1, "STOPPED", at(1), at(3), at(3), REGION, ACCOUNT_ID)],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 1, 1, 0, 1, 1)],
    "participant_replication_summary": [summary("p1", (1, 1, 1, 0), (1, 3), 3, (2, 1))],
    "scan_runs": [run(1, 1, 0, 1), run(2, 0, 1, 0), run(3, 1, 0, 1)],
}

FAILED_LATEST = [ok(1, "p1", active()), failed(2, "p1")]
FAILED_LATEST_EXPECTED: Expected = {
    "replica_state_intervals": [(*K1, "ACTIVE", at(1), None, at(1), None, None, 1, True)],
    "replica_state_changes": [(*K1, at(1), None, "ACTIVE", None, run_id(1))],
    "replicas_current": [(*K1, "ACTIVE", at(1), at(1), at(1), REGION, ACCOUNT_ID)],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 1, 1, 0, 0, 1)],
    "participant_replication_summary": [
        summary("p1", (1, 1, 1, 1), (1, 1), 2, (1, 1), last_ok_hour=1)
    ],
    "scan_runs": [run(1, 1, 0, 1), run(2, 0, 1, 0)],
}

ZERO_REPLICAS = [ok(1, "p2"), ok(2, "p2")]
ZERO_REPLICAS_EXPECTED: Expected = {
    "replica_state_intervals": [],
    "replica_state_changes": [],
    "replicas_current": [],
    "replication_daily": [],
    "participant_replication_summary": [summary("p2", (0, 0, 0, 0), None, 2, (2, 0))],
    "scan_runs": [run(1, 1, 0, 0), run(2, 1, 0, 0)],
}

SAME_DESTINATION = [
    ok(1, "p1", active()),
    ok(1, "p2", active()),
    ok(2, "p1", active()),
    ok(2, "p2", stopped()),
]
SAME_DESTINATION_EXPECTED: Expected = {
    "replica_state_intervals": [
        (*K1, "ACTIVE", at(1), None, at(2), None, None, 2, True),
        (*K2, "ACTIVE", at(1), None, at(1), at(2), "state_change", 1, False),
        (*K2, "STOPPED", at(2), at(1), at(2), None, None, 1, True),
    ],
    "replica_state_changes": [
        (*K1, at(1), None, "ACTIVE", None, run_id(1)),
        (*K2, at(1), None, "ACTIVE", None, run_id(1)),
        (*K2, at(2), "ACTIVE", "STOPPED", at(1), run_id(2)),
    ],
    "replicas_current": [
        (*K1, "ACTIVE", at(1), at(2), at(1), REGION, ACCOUNT_ID),
        (*K2, "STOPPED", at(1), at(2), at(2), REGION, ACCOUNT_ID),
    ],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 2, 2, 0, 1, 2)],
    "participant_replication_summary": [
        summary("p1", (1, 1, 1, 1), (1, 2), 2, (2, 0)),
        summary("p2", (1, 1, 1, 0), (1, 2), 2, (2, 0)),
    ],
    "scan_runs": [run(1, 2, 0, 2), run(2, 2, 0, 2)],
}

KA = key("p1", stage=SRC_A)
KB = key("p1", stage=SRC_B)
TWO_STAGES = [
    ok(1, "p1", active(), stage=SRC_A),
    ok(1, "p1", active(), stage=SRC_B),
    ok(2, "p1", active(), stage=SRC_A),
    ok(2, "p1", stage=SRC_B),
]
TWO_STAGES_EXPECTED: Expected = {
    "replica_state_intervals": [
        (*KA, "ACTIVE", at(1), None, at(2), None, None, 2, True),
        (*KB, "ACTIVE", at(1), None, at(1), at(2), "disappeared", 1, False),
    ],
    "replica_state_changes": [
        (*KA, at(1), None, "ACTIVE", None, run_id(1)),
        (*KB, at(1), None, "ACTIVE", None, run_id(1)),
        (*KB, at(2), "ACTIVE", "GONE", at(1), run_id(2)),
    ],
    "replicas_current": [(*KA, "ACTIVE", at(1), at(2), at(1), REGION, ACCOUNT_ID)],
    "replication_daily": [
        (DAY_1, SRC_A, DST_X, 1, 1, 0, 0, 1),
        (DAY_1, SRC_B, DST_X, 1, 1, 0, 1, 1),
    ],
    "participant_replication_summary": [
        summary("p1", (1, 1, 1, 1), (1, 2), 2, (2, 0), stage=SRC_A),
        summary("p1", (1, 1, 0, 0), (1, 1), 2, (2, 0), stage=SRC_B),
    ],
    "scan_runs": [run(1, 2, 0, 2), run(2, 2, 0, 1)],
}

NO_CHANGE = [ok(1, "p1", active()), ok(2, "p1", active()), ok(3, "p1", active())]
NO_CHANGE_EXPECTED: Expected = {
    "replica_state_intervals": [(*K1, "ACTIVE", at(1), None, at(3), None, None, 3, True)],
    "replica_state_changes": [(*K1, at(1), None, "ACTIVE", None, run_id(1))],
    "replicas_current": [(*K1, "ACTIVE", at(1), at(3), at(1), REGION, ACCOUNT_ID)],
    "replication_daily": [(DAY_1, SRC_A, DST_X, 1, 1, 0, 0, 1)],
    "participant_replication_summary": [summary("p1", (1, 1, 1, 1), (1, 3), 3, (3, 0))],
    "scan_runs": [run(1, 1, 0, 1), run(2, 1, 0, 1), run(3, 1, 0, 1)],
}

K1_Y = key("p1", destination=DST_Y, session="dst-session-y")
ACROSS_DAYS = [
    ok(22, "p1", active(), stopped(DST_Y, "dst-session-y")),
    ok(23, "p1", active(), active(DST_Y, "dst-session-y")),
    ok(24, "p1", active(DST_Y, "dst-session-y")),
]
ACROSS_DAYS_EXPECTED: Expected = {
    "replica_state_intervals": [
        (*K1, "ACTIVE", at(22), None, at(23), at(24), "disappeared", 2, False),
        (*K1_Y, "STOPPED", at(22), None, at(22), at(23), "state_change", 1, False),
        (*K1_Y, "ACTIVE", at(23), at(22), at(24), None, None, 2, True),
    ],
    "replica_state_changes": [
        (*K1, at(22), None, "ACTIVE", None, run_id(22)),
        (*K1, at(24), "ACTIVE", "GONE", at(23), run_id(24)),
        (*K1_Y, at(22), None, "STOPPED", None, run_id(22)),
        (*K1_Y, at(23), "STOPPED", "ACTIVE", at(22), run_id(23)),
    ],
    "replicas_current": [(*K1_Y, "ACTIVE", at(22), at(24), at(23), REGION, ACCOUNT_ID)],
    "replication_daily": [
        (DAY_1, SRC_A, DST_X, 1, 1, 0, 0, 1),
        (DAY_1, SRC_A, DST_Y, 1, 1, 1, 0, 1),
        (DAY_2, SRC_A, DST_X, 0, 0, 0, 1, 0),
        (DAY_2, SRC_A, DST_Y, 1, 1, 0, 0, 1),
    ],
    "participant_replication_summary": [summary("p1", (2, 2, 1, 1), (22, 24), 24, (3, 0))],
    "scan_runs": [run(22, 1, 0, 2), run(23, 1, 0, 2), run(24, 1, 0, 1)],
}


@pytest.mark.parametrize(("view", "expected"), cases(STATE_FLIPS_EXPECTED), ids=HISTORY_VIEWS)
def test_active_stopped_active(view: str, expected: list[Row]) -> None:
    """ACTIVE, STOPPED twice, ACTIVE again: three stretches, three changes."""
    assert_view(STATE_FLIPS, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(DISAPPEARS_EXPECTED), ids=HISTORY_VIEWS)
def test_replica_that_disappears(view: str, expected: list[Row]) -> None:
    """Absent from a later successful scan: the stretch ends 'disappeared', a GONE change."""
    assert_view(DISAPPEARS, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(REAPPEARS_EXPECTED), ids=HISTORY_VIEWS)
def test_replica_that_reappears(view: str, expected: list[Row]) -> None:
    """Back after a gap: a new stretch and a change from GONE."""
    assert_view(REAPPEARS, view, expected)


@pytest.mark.parametrize(
    ("view", "expected"), cases(FAILED_WITHOUT_CHANGE_EXPECTED), ids=HISTORY_VIEWS
)
def test_failed_scan_between_unchanged_scans(view: str, expected: list[Row]) -> None:
    """A failed scan between two scans that saw the same state changes nothing."""
    assert_view(FAILED_WITHOUT_CHANGE, view, expected)


@pytest.mark.parametrize(
    ("view", "expected"), cases(FAILED_WITH_CHANGE_EXPECTED), ids=HISTORY_VIEWS
)
def test_failed_scan_between_changed_scans(view: str, expected: list[Row]) -> None:
    """A change across a failed scan is dated by the next successful scan, after the last one."""
    assert_view(FAILED_WITH_CHANGE, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(FAILED_LATEST_EXPECTED), ids=HISTORY_VIEWS)
def test_failed_latest_scan_keeps_last_known_state(view: str, expected: list[Row]) -> None:
    """A failed latest scan is never read as 'gone': the replica stays current."""
    assert_view(FAILED_LATEST, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(ZERO_REPLICAS_EXPECTED), ids=HISTORY_VIEWS)
def test_participant_scanned_with_zero_replicas(view: str, expected: list[Row]) -> None:
    """A participant without replicas appears in the summary and the runs only."""
    assert_view(ZERO_REPLICAS, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(SAME_DESTINATION_EXPECTED), ids=HISTORY_VIEWS)
def test_two_participants_into_one_destination(view: str, expected: list[Row]) -> None:
    """Two participants replicated into the same destination stage are counted apart."""
    assert_view(SAME_DESTINATION, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(TWO_STAGES_EXPECTED), ids=HISTORY_VIEWS)
def test_same_participant_id_on_two_stages(view: str, expected: list[Row]) -> None:
    """One participant id on two stages is two participants: one's scan never ends the other's."""
    assert_view(TWO_STAGES, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(NO_CHANGE_EXPECTED), ids=HISTORY_VIEWS)
def test_runs_without_change(view: str, expected: list[Row]) -> None:
    """Runs that see the same state again add observations, not stretches or changes."""
    assert_view(NO_CHANGE, view, expected)


@pytest.mark.parametrize(("view", "expected"), cases(STATE_FLIPS_EXPECTED), ids=HISTORY_VIEWS)
def test_duplicated_rows_count_once(view: str, expected: list[Row]) -> None:
    """Every scan and replica row loaded twice gives the same rows as loaded once."""
    assert_view(STATE_FLIPS, view, expected, copies=2)


@pytest.mark.parametrize(("view", "expected"), cases(ACROSS_DAYS_EXPECTED), ids=HISTORY_VIEWS)
def test_history_across_utc_days(view: str, expected: list[Row]) -> None:
    """Changes count on the UTC day of the scan that detected them, observed or not."""
    assert_view(ACROSS_DAYS, view, expected)


def scan_row(hour: int, replicas: int, previous: int | None, following: int | None) -> Row:
    """A successful `scans` row of p1 with the hours of its neighbouring successful scans."""
    return (
        run_id(hour),
        SRC_A,
        "p1",
        REGION,
        ACCOUNT_ID,
        at(hour),
        at(hour) + timedelta(seconds=2),
        "ok",
        True,
        1,
        replicas,
        None,
        None,
        None if previous is None else at(previous),
        None if following is None else at(following),
        None if following is None else run_id(following),
    )


def failed_scan_row(hour: int) -> Row:
    """A failed `scans` row of p1."""
    timing = (at(hour), at(hour) + timedelta(seconds=2))
    failure = ("ThrottlingException", "Rate exceeded")
    return (run_id(hour), SRC_A, "p1", REGION, ACCOUNT_ID, *timing, "failed", False, 0, 0,
            *failure, None, None, None)  # fmt: skip


def observation_row(
    state: str,
    hour: int,
    number: int,
    previous: tuple[int, str] | None,
    scans: tuple[int | None, int | None],
) -> Row:
    """A replica_observations row of K1 that starts and ends a stretch (seen alone)."""
    previous_scan, next_scan = scans
    return (
        *K1,
        state,
        at(hour),
        run_id(hour),
        number,
        None if previous is None else at(previous[0]),
        None if previous is None else previous[1],
        None if previous_scan is None else at(previous_scan),
        None if next_scan is None else at(next_scan),
        None if next_scan is None else run_id(next_scan),
        False,
        False,
        True,
        True,
    )


HELPER_HISTORY = [ok(1, "p1", active()), failed(2, "p1"), ok(3, "p1"), ok(4, "p1", stopped())]
HELPER_EXPECTED: Expected = {
    "scanned_participants": [(SRC_A, "p1", REGION, ACCOUNT_ID)],
    "replica_keys": [K1],
    "scans": [
        scan_row(1, 1, None, 3),
        failed_scan_row(2),
        scan_row(3, 0, 1, 4),
        scan_row(4, 1, 3, None),
    ],
    "replica_observations": [
        observation_row("ACTIVE", 1, 1, None, (None, 3)),
        observation_row("STOPPED", 4, 2, (1, "ACTIVE"), (3, None)),
    ],
}


@pytest.mark.parametrize(
    ("view", "copies"),
    [(view, copies) for view in HELPER_EXPECTED for copies in (1, 2)],
    ids=[f"{view}-x{copies}" for view in HELPER_EXPECTED for copies in (1, 2)],
)
def test_helper_views_rows(view: str, copies: int) -> None:
    """The building-block views: participants, deduplicated scans, observations with links."""
    assert_view(HELPER_HISTORY, view, HELPER_EXPECTED[view], copies=copies)


@pytest.mark.parametrize("view", list(COLUMNS), ids=list(COLUMNS))
def test_view_columns_are_the_documented_contract(view: str) -> None:
    """Each view has exactly the columns these tests expect, in order."""
    with history_database([]) as connection:
        columns = view_columns(connection, view)
    assert columns == COLUMNS[view]


@pytest.mark.parametrize(
    "path", catalog.view_files(), ids=[path.name for path in catalog.view_files()]
)
def test_view_file_states_its_grain_and_creates_its_view(path: Path) -> None:
    """Each file opens with its grain and creates exactly the view it is named for."""
    text = path.read_text(encoding="utf-8")
    created = re.findall(r"^create or replace view (\w+) as$", text, flags=re.MULTILINE)
    assert text.startswith("-- grain: ")
    assert created == [catalog.sql_name(path)]
    assert text.rstrip().endswith("select * from final;")


def test_every_view_file_is_tested() -> None:
    """Every view in sql/ has its column contract here."""
    assert sorted(catalog.view_names()) == sorted(COLUMNS)


def definitions_and_rows(connection: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Each view's stored definition and its rows."""
    definitions = dict(
        connection.execute(
            "select view_name, sql from duckdb_views() where schema_name = ?", [DEFAULT_DATASET]
        ).fetchall()
    )
    return {
        view: (definitions[view], view_rows(connection, view, view_columns(connection, view)))
        for view in catalog.view_names()
    }


def test_applying_views_twice_changes_nothing() -> None:
    """apply_views is idempotent: same definitions, same rows."""
    with history_database(REAPPEARS) as connection:
        before = definitions_and_rows(connection)
        views.apply_views(connection, DEFAULT_DATASET)
        assert definitions_and_rows(connection) == before


def test_apply_views_keeps_the_default_schema() -> None:
    """apply_views restores the connection's default schema."""
    with duckdb.connect() as connection:
        views.apply_views(connection, DEFAULT_DATASET)
        assert connection.execute("select current_schema()").fetchone() == ("main",)


def test_views_resolve_from_another_default_schema(tmp_path: Path) -> None:
    """Views read the dataset's tables even from a connection whose default schema is main."""
    database = str(tmp_path / "views.duckdb")
    with history_database(REAPPEARS, path=database) as connection:
        connection.execute(f"create table main.{SCANS_TABLE} as select 1 as decoy")
        views.apply_views(connection, DEFAULT_DATASET)
    with duckdb.connect(database, read_only=True) as connection:
        assert connection.execute("select current_schema()").fetchone() == ("main",)
        rows = connection.execute(
            f"select count(*) from {DEFAULT_DATASET}.replica_state_changes"
        ).fetchone()
    assert rows == (3,)


def test_views_apply_to_an_empty_database() -> None:
    """Missing source tables are created empty, so the views bind and return no rows."""
    with duckdb.connect() as connection:
        views.apply_views(connection, DEFAULT_DATASET)
        counts = [
            connection.execute(f"select count(*) from {DEFAULT_DATASET}.{view}").fetchone()
            for view in catalog.view_names()
        ]
    assert counts == [(0,)] * len(catalog.view_names())


def test_views_apply_when_a_source_column_is_missing() -> None:
    """A ledger loaded without the (all NULL) error columns gets them, so the views bind."""
    with duckdb.connect() as connection:
        connection.execute(f"create schema {DEFAULT_DATASET}")
        connection.execute(
            f"create table {DEFAULT_DATASET}.{SCANS_TABLE} as select 'run-1' as run_id, "
            "'stage' as source_stage_arn, 'p1' as participant_id, 'ok' as status"
        )
        views.apply_views(connection, DEFAULT_DATASET)
        derived.rebuild(connection, DEFAULT_DATASET)
        runs = connection.execute(f"select run_id from {DEFAULT_DATASET}.scan_runs").fetchall()
    assert runs == [("run-1",)]


CATALOGUE = catalog.catalogue()


def test_catalogue_documents_every_view_file_in_order() -> None:
    """sql/schema.yml has one entry per view file, in the order the files are applied."""
    documented = [name for name, relation in CATALOGUE.items() if relation.kind == "view"]
    assert documented == catalog.view_names()


def test_catalogue_documents_the_tables_the_views_read() -> None:
    """Every loaded table the views read is documented; dlt's own _dlt_loads is not."""
    documented = {name for name, relation in CATALOGUE.items() if relation.kind == "table"}
    assert documented == set(views.SOURCE_SCHEMAS) - {"_dlt_loads"}


@pytest.mark.parametrize("name", list(CATALOGUE), ids=list(CATALOGUE))
def test_catalogue_columns_are_the_database_columns(name: str) -> None:
    """schema.yml lists exactly the columns DuckDB describes, in order."""
    with history_database([]) as connection:
        columns = view_columns(connection, name)
    assert CATALOGUE[name].column_names == columns


@pytest.mark.parametrize("path", catalog.view_files(), ids=catalog.view_names())
def test_catalogue_grain_is_the_view_files_grain(path: Path) -> None:
    """A view's grain in schema.yml is its file's `-- grain:` header, `code` marks aside."""
    header = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("-- grain: ")
    assert CATALOGUE[catalog.sql_name(path)].grain.replace("`", "") == header


@pytest.mark.parametrize("name", list(CATALOGUE), ids=list(CATALOGUE))
def test_report_settings_name_columns_that_fit(name: str) -> None:
    """order_by names the relation's columns; since is a timestamptz, or a UTC `day` date."""
    relation = CATALOGUE[name]
    with history_database([]) as connection:
        types = column_types(connection, name)
    assert relation.order_by
    assert set(relation.order_by) <= set(types)
    if relation.since == "day":
        assert types["day"] == "DATE"
    elif relation.since is not None:
        assert types[relation.since] == "TIMESTAMP WITH TIME ZONE"


def test_readme_data_dictionary_is_generated_from_the_catalogue() -> None:
    """README's dictionary is what the generator makes from schema.yml and the database."""
    written = dictionary.readme_section(README.read_text(encoding="utf-8"))
    assert written == dictionary.markdown(), (
        "README's data dictionary is out of date: run "
        "`python -m ivs_replicas.warehouse.dictionary README.md`"
    )


def test_views_agree_with_each_other_on_a_synthetic_history() -> None:
    """Counts that two views derive independently match on a generated history."""
    checks = {
        "replicas seen now": (
            "select sum(count_replicas_now) from participant_replication_summary",
            "select count(*) from replicas_current",
        ),
        "active now": (
            "select sum(count_active_now) from participant_replication_summary",
            "select count(*) from replicas_current where replication_state = 'ACTIVE'",
        ),
        "first appearances": (
            "select count(*) from replica_state_changes where from_state is null",
            "select count(*) from replica_keys",
        ),
        "stretches": (
            "select count(*) from replica_state_intervals",
            "select count(*) from replica_state_changes where to_state != 'GONE'",
        ),
        "disappearances": (
            "select count(*) from replica_state_intervals where end_reason = 'disappeared'",
            "select count(*) from replica_state_changes where to_state = 'GONE'",
        ),
        "observations": (
            "select sum(observation_count) from replica_state_intervals",
            "select count(*) from replica_observations",
        ),
        "scans": (
            "select sum(count_participants) from scan_runs",
            "select count(*) from scans",
        ),
    }
    with duckdb.connect() as connection:
        synthetic_history.generate_history(connection, DEFAULT_DATASET, 30, 400, seed=3)
        views.apply_views(connection, DEFAULT_DATASET)
        derived.maintain(connection, DEFAULT_DATASET)
        with default_schema(connection, DEFAULT_DATASET):
            results = {
                name: tuple(connection.execute(sql).fetchone() for sql in pair)
                for name, pair in checks.items()
            }
    assert {name: left == right for name, (left, right) in results.items()} == dict.fromkeys(
        checks, True
    )


PARTICIPANTS = [(SRC_A, "p1"), (SRC_A, "p2"), (SRC_B, "p1")]
REPLICAS = [(DST_X, "dst-session"), (DST_Y, "dst-session-y")]


@st.composite
def histories(draw: st.DrawFn) -> list[Scan]:
    """Random histories: each participant, each hour, unscanned, failed, or seeing replicas."""
    scans = []
    for hour in range(1, draw(st.integers(2, 7)) + 1):
        for stage, participant in PARTICIPANTS:
            outcome = draw(st.sampled_from(["skip", "failed", "ok"]))
            if outcome == "failed":
                scans.append(failed(hour, participant, stage=stage))
            if outcome == "ok":
                states = draw(
                    st.lists(st.sampled_from(["-", "ACTIVE", "STOPPED"]), min_size=2, max_size=2)
                )
                replicas = [
                    Replica(destination, state, destination_session_id=session)
                    for (destination, session), state in zip(REPLICAS, states, strict=True)
                    if state != "-"
                ]
                scans.append(ok(hour, participant, *replicas, stage=stage))
    return scans


MODEL_COLUMNS = {
    "replica_state_changes": [*GOLDEN["replica_state_changes"], "is_first_observation"],
    "replica_state_intervals": [
        *GOLDEN["replica_state_intervals"],
        "is_start_known",
        "is_stale",
    ],
    "replicas_current": GOLDEN["replicas_current"][:-2],
}
MODEL = {
    "replica_state_changes": views_model.expected_changes,
    "replica_state_intervals": views_model.expected_intervals,
    "replicas_current": views_model.expected_current,
}


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(history=histories(), copies=st.integers(1, 2))
def test_views_match_the_reference_semantics(history: list[Scan], copies: int) -> None:
    """On random histories (failed and skipped scans, repeats), the views follow the definition."""
    with history_database(history, copies) as connection:
        actual = {view: view_rows(connection, view, MODEL_COLUMNS[view]) for view in MODEL}
    expected = {view: sorted(model(history), key=sort_key) for view, model in MODEL.items()}
    assert actual == expected


@st.composite
def arrivals(draw: st.DrawFn) -> list[Scan]:
    """A random history whose scans arrive late now and then, some of them twice."""
    scans = []
    for scan in draw(histories()):
        late = draw(st.sampled_from([0, 0, 0, 0, 1, 3]))
        scans.append(replace(scan, late=late))
        if draw(st.integers(0, 9)) == 0:
            scans.append(replace(scan, late=late + draw(st.integers(0, 2))))
    return scans


def derived_state(connection: duckdb.DuckDBPyConnection) -> dict[str, list[Row]]:
    """Every derived table's rows but the bookkeeping times, and every view's rows."""
    names = [
        table for table in derived.DERIVED_TABLES if table not in ("derived_state", "derived_loads")
    ]
    state = {
        name: view_rows(connection, name, view_columns(connection, name))
        for name in [*names, *catalog.view_names()]
    }
    state["derived_loads"] = view_rows(connection, "derived_loads", ["load_id"])
    return state


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(history=arrivals())
def test_maintenance_load_by_load_equals_a_rebuild(history: list[Scan]) -> None:
    """Loads taken in one by one (late, repeated, out of order) derive what a rebuild does."""
    loads = sorted({scan.load_id for scan in history})
    with duckdb.connect() as incremental, duckdb.connect() as rebuilt:
        for connection in (incremental, rebuilt):
            connection.execute("set TimeZone = 'UTC'")
            views.apply_views(connection, DEFAULT_DATASET)
        for load_id in loads:
            load(incremental, [scan for scan in history if scan.load_id == load_id])
            derived.maintain(incremental, DEFAULT_DATASET)
        load(rebuilt, history)
        derived.rebuild(rebuilt, DEFAULT_DATASET)
        assert derived_state(incremental) == derived_state(rebuilt)


def rows(scans: list[Scan], sql: str, include_stale: bool = False) -> list[Row]:
    """The rows of a query over the views of this history (dataset as default schema)."""
    connection = shared_history(tuple(scans), 1)
    with default_schema(connection, DEFAULT_DATASET):
        if not include_stale:
            return connection.execute(sql).fetchall()
        connection.execute("set variable ivs_include_stale = true")
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.execute("reset variable ivs_include_stale")


# p1 is scanned once, then dropped from the list; p2 goes on being scanned.
DROPPED = [ok(1, "p1", active()), *(ok(hour, "p2") for hour in range(1, 8))]
# p1's scans fail from hour 2 on.
FAILING = [ok(1, "p1", active()), *(failed(hour, "p1") for hour in range(2, 8))]


@pytest.mark.parametrize(
    ("history", "reason"),
    [(DROPPED, "not_scanned"), (FAILING, "scans_failing")],
    ids=["dropped", "failing"],
)
def test_a_participant_without_successful_scans_goes_stale(
    history: list[Scan], reason: str
) -> None:
    """Stale participants leave what is current, and say why; their stretches say so too."""
    participant = (
        "select is_stale, stale_reason from scanned_participants where participant_id = 'p1'"
    )
    summary_now = (
        "select count_active_now, is_stale from participant_replication_summary "
        "where participant_id = 'p1'"
    )
    assert rows(history, participant) == [(True, reason)]
    assert rows(history, "select count(*) from replicas_current") == [(0,)]
    assert rows(history, "select is_stale from replicas_current", include_stale=True) == [(True,)]
    assert rows(history, summary_now) == [(0, True)]
    assert rows(history, "select is_ongoing, is_stale from replica_state_intervals") == [
        (True, True)
    ]
    assert rows(history, "select is_ongoing, is_stale from replica_timeline") == [(True, True)]


def test_a_participant_scanned_lately_is_not_stale() -> None:
    """A successful scan within three run intervals keeps the participant current."""
    history = [ok(1, "p1", active()), failed(2, "p1"), failed(3, "p1"), ok(3, "p2")]
    assert rows(
        history, "select participant_id, is_stale from scanned_participants order by all"
    ) == [
        ("p1", False),
        ("p2", False),
    ]
    assert rows(history, "select count(*) from replicas_current") == [(1,)]


def test_the_staleness_window_is_a_variable() -> None:
    """`set variable ivs_stale_after` changes the window."""
    history = [ok(1, "p1", active()), failed(2, "p1"), ok(2, "p2")]
    with history_database(history) as connection, default_schema(connection, DEFAULT_DATASET):
        connection.execute("set variable ivs_stale_after = interval 30 minutes")
        stale = connection.execute(
            "select is_stale from scanned_participants where participant_id = 'p1'"
        ).fetchall()
    assert stale == [(True,)]


FIRST_SIGHTING = [ok(1, "p1", active()), ok(2, "p1", active()), ok(1, "p2"), ok(2, "p2", active())]


def test_a_first_observation_is_not_a_start() -> None:
    """A replica already ACTIVE at its participant's first scan started at an unknown time."""
    changes = rows(
        FIRST_SIGHTING,
        "select participant_id, is_first_observation from replica_state_changes order by all",
    )
    timeline = rows(
        FIRST_SIGHTING,
        "select participant_id, replication_started_at, start_source, is_start_known "
        "from replica_timeline order by all",
    )
    daily = rows(FIRST_SIGHTING, "select count_replicas_started from replication_daily")
    assert changes == [("p1", True), ("p2", False)]
    assert timeline == [("p1", None, "unknown", False), ("p2", at(2), "observation", True)]
    assert daily == [(1,)]


SESSION_CHANGE = [
    ok(1, "p1"),
    ok(2, "p1", active(session="s1")),
    ok(3, "p1", active(session="s1")),
    ok(4, "p1", active(session="s2")),
    ok(5, "p1"),
]


def test_a_destination_session_change_continues_the_period() -> None:
    """Replication that moves to a new destination session is one period of two episodes."""
    episodes = rows(SESSION_CHANGE, "select count(*) from replica_timeline")
    periods = rows(
        SESSION_CHANGE,
        "select replication_started_at, replication_stopped_at, count_episodes, "
        "count_destination_sessions, duration_seconds from replication_periods",
    )
    assert episodes == [(2,)]
    assert periods == [(at(2), at(5), 2, 2, 3 * 3600)]


def test_a_stage_period_spans_its_participants() -> None:
    """Stage X received replicas from p1's start to p2's stop, p2 taking over from p1."""
    history = [
        ok(1, "p1"),
        ok(2, "p1", active()),
        ok(3, "p1"),
        ok(2, "p2"),
        ok(3, "p2", active()),
        ok(4, "p2"),
        ok(6, "p2", active()),
    ]
    periods = rows(
        history,
        "select replication_started_at, replication_stopped_at, count_participants, is_ongoing "
        "from stage_replication_periods order by observed_started_at",
    )
    assert periods == [(at(2), at(4), 2, False), (at(6), None, 1, True)]


def test_a_day_without_successful_scans_keeps_its_replicas() -> None:
    """Every scan of the middle day failed: the replica is still counted, and the day says so."""
    history = [ok(20, "p1", active()), failed(30, "p1"), failed(40, "p1"), ok(50, "p1", active())]
    daily = rows(
        history,
        "select day, count_replicas_observed, count_replicas_active, is_without_successful_scan "
        "from replication_daily order by day",
    )
    assert daily == [
        (DAY_1, 1, 1, False),
        (DAY_2, 0, 1, True),
        (DAY_2 + timedelta(days=1), 1, 1, False),
    ]


def test_scans_are_identified_by_their_run() -> None:
    """Two runs that scanned a participant at the same moment are two scans."""
    history = [ok(1, "p1", active()), Scan(1, "p1", (active(),), run="run-other")]
    assert rows(history, "select run_id from scans order by run_id") == [
        ("run-001",),
        ("run-other",),
    ]
    assert rows(history, "select count_participants from scan_runs") == [(1,), (1,)]


def test_a_scan_whose_rows_are_missing_is_a_data_quality_issue() -> None:
    """A ledger row that reports a replica no visible row holds is listed, and never a loss."""
    history = [ok(1, "p1", active()), Scan(2, "p1", (), replica_count=1), ok(3, "p1", active())]
    issues = rows(
        history, "select issue, run_id, replica_count, count_replica_rows from data_quality_issues"
    )
    intervals = rows(history, "select end_reason, observation_count from replica_state_intervals")
    assert issues == [("replica_rows_missing", run_id(2), 1, 0)]
    assert intervals == [(None, 2)]


def test_a_scan_that_arrives_out_of_order_is_a_data_quality_issue() -> None:
    """A scan loaded after a later scan of its participant is listed, and fits in its place."""
    history = [
        ok(1, "p1", active()),
        Scan(2, "p1", (stopped(),), late=3),
        ok(3, "p1", active()),
    ]
    issues = rows(history, "select issue, run_id from data_quality_issues")
    states = rows(
        history, "select replication_state from replica_state_intervals order by started_at"
    )
    overview = rows(history, "select count(*) from data_quality_issues")
    assert issues == [("out_of_order", run_id(2))]
    assert states == [("ACTIVE",), ("STOPPED",), ("ACTIVE",)]
    assert overview == [(1,)]
