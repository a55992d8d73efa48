"""Helpers shared by the tests: read the test database, compare rows with the scenario."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from ivs_replicas import runner

FAKE_KEY_ID = "AKIATESTFAKE0000001"
FAKE_SECRET = "fake-secret-Zq9xV7wK3mN8pL2rT5yU"

RunFn = Callable[..., runner.RunSummary]


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the test database, read-only."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).fetchall()


REPLICA_COLUMNS = (
    "source_stage_arn",
    "participant_id",
    "source_session_id",
    "destination_stage_arn",
    "destination_session_id",
    "replication_state",
)


def loaded_replicas(database: Path, run_id: str | None = None) -> list[dict[str, str]]:
    """The loaded replica rows of one run (or all), as the scenario spells them, sorted."""
    where = f"where run_id = '{run_id}'" if run_id else ""
    rows = query(
        database,
        f"select {', '.join(REPLICA_COLUMNS)} from ivs_realtime.participant_replicas {where}",
    )
    return sorted_rows([dict(zip(REPLICA_COLUMNS, row, strict=True)) for row in rows])


def sorted_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows in a stable order for comparison."""
    return sorted(rows, key=lambda row: tuple(row[column] for column in REPLICA_COLUMNS))
