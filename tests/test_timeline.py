"""replica_timeline and the completed-load filter, as dbt-style unit tests: rows in, rows out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.warehouse import derived, views

STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/source01"
DEST = "arn:aws:ivs:us-east-1:123456789012:stage/dest0001"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    """A time `hours` after T0."""
    return T0 + timedelta(hours=hours)


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty dataset with the source tables and views."""
    with duckdb.connect() as db:
        db.execute("set TimeZone = 'UTC'")
        views.create_source_tables(db, DEFAULT_DATASET)
        db.execute(f"use {DEFAULT_DATASET}")
        yield db


def scan(
    db: duckdb.DuckDBPyConnection, hour: int, replicas: dict[str, str], load_id: str | None = None
) -> None:
    """One successful scan at `hour` seeing `replicas` (destination session -> state)."""
    run_id = f"run-{hour}"
    db.execute(
        "insert into participant_scans (run_id, source_stage_arn, participant_id, region, account_id, "
        "scanned_at, finished_at, status, pages, replica_count, _dlt_load_id) "
        "values (?, ?, 'pub', 'us-east-1', '123456789012', ?, ?, 'ok', 1, ?, ?)",
        [run_id, STAGE, at(hour), at(hour), len(replicas), load_id],
    )
    for session, state in replicas.items():
        db.execute(
            "insert into participant_replicas (source_stage_arn, participant_id, source_session_id, "
            "destination_stage_arn, destination_session_id, replication_state, observed_at, run_id, "
            "region, account_id, _dlt_load_id) "
            "values (?, 'pub', 'st-SOURCE0000001', ?, ?, ?, ?, ?, 'us-east-1', '123456789012', ?)",
            [STAGE, DEST, session, state, at(hour), run_id, load_id],
        )


def event(db: duckdb.DuckDBPyConnection, name: str, hours: float, session: str) -> None:
    """One replication event of the participant towards a destination session."""
    db.execute(
        "insert into participant_events (event_key, stage_arn, session_id, participant_id, event_name, "
        "event_at, destination_stage_arn, destination_session_id, is_replica, run_id) "
        "values (?, ?, 'st-SOURCE0000001', 'pub', ?, ?, ?, ?, false, 'run-x')",
        [f"{name}{hours}{session}", STAGE, name, at(hours), DEST, session],
    )


def timeline(db: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    """The timeline's columns that matter here, in order (rows written by hand: a rebuild)."""
    views.apply_views(db, DEFAULT_DATASET)
    derived.rebuild(db, DEFAULT_DATASET)
    return db.execute(
        "select destination_session_id, replication_started_at, start_source, replication_stopped_at, "
        "stop_source, observed_started_after_at, observed_started_at, observed_last_active_at, "
        "observed_stopped_at, end_reason, observation_count, is_ongoing "
        "from replica_timeline order by destination_session_id, observed_started_at"
    ).fetchall()


def test_events_pin_exact_times_and_observations_fill_the_gaps(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    one, two = "st-DEST00000001", "st-DEST00000002"
    scan(connection, 1, {one: "ACTIVE"})
    scan(connection, 2, {one: "ACTIVE"})
    scan(connection, 3, {one: "STOPPED"})
    scan(connection, 4, {one: "ACTIVE", two: "ACTIVE"})
    scan(connection, 5, {two: "ACTIVE"})
    event(connection, "REPLICATION_STARTED", 0.5, one)
    event(connection, "REPLICATION_STOPPED", 2.5, one)
    event(connection, "REPLICATION_STARTED", 3.5, one)
    assert timeline(connection) == [
        (
            one,
            at(0.5),
            "event",
            at(2.5),
            "event",
            None,
            at(1),
            at(2),
            at(3),
            "state_change",
            2,
            False,
        ),
        (
            one,
            at(3.5),
            "event",
            at(5),
            "observation",
            at(3),
            at(4),
            at(4),
            at(5),
            "disappeared",
            1,
            False,
        ),
        (two, at(4), "observation", None, None, at(3), at(4), at(5), None, None, 2, True),
    ]


def test_events_outside_the_observed_bounds_are_not_used(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    one = "st-DEST00000001"
    scan(connection, 1, {})
    scan(connection, 2, {one: "ACTIVE"})
    scan(connection, 3, {})
    event(connection, "REPLICATION_STARTED", 0.5, one)
    event(connection, "REPLICATION_STOPPED", 3.5, one)
    assert timeline(connection) == [
        (
            one,
            at(2),
            "observation",
            at(3),
            "observation",
            at(1),
            at(2),
            at(2),
            at(3),
            "disappeared",
            1,
            False,
        ),
    ]


def test_a_stop_event_after_the_last_scan_ends_an_ongoing_episode(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    one = "st-DEST00000001"
    scan(connection, 1, {one: "ACTIVE"})
    event(connection, "REPLICATION_STOPPED", 1.5, one)
    assert timeline(connection) == [
        (one, None, "unknown", at(1.5), "event", None, at(1), at(1), None, None, 1, False),
    ]


def test_rows_of_an_unfinished_load_stay_invisible(connection: duckdb.DuckDBPyConnection) -> None:
    one = "st-DEST00000001"
    connection.execute("insert into _dlt_loads (load_id, status) values ('load-1', 0)")
    scan(connection, 1, {one: "ACTIVE"}, load_id="load-1")
    scan(connection, 2, {}, load_id="load-2")
    views.apply_views(connection, DEFAULT_DATASET)
    derived.maintain(connection, DEFAULT_DATASET)
    assert connection.execute("select run_id from scan_runs").fetchall() == [("run-1",)]
    assert connection.execute("select count(*) from replica_state_changes").fetchall() == [(1,)]
    connection.execute("insert into _dlt_loads (load_id, status) values ('load-2', 0)")
    derived.maintain(connection, DEFAULT_DATASET)
    changes = connection.execute(
        "select to_state from replica_state_changes order by changed_at"
    ).fetchall()
    assert changes == [("ACTIVE",), ("GONE",)]
