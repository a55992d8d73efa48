"""Hand-written histories for the view tests: scans with the replicas they saw, loaded into DuckDB."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.sources.ivs_realtime.settings import REPLICAS_TABLE, SCANS_TABLE
from ivs_replicas.warehouse import derived, views
from ivs_replicas.warehouse.database import quote_identifier

REGION = "us-east-1"
ACCOUNT_ID = "111111111111"
SRC_A = "arn:aws:ivs:us-east-1:111111111111:stage/src-a"
SRC_B = "arn:aws:ivs:us-east-1:111111111111:stage/src-b"
DST_X = "arn:aws:ivs:us-east-1:111111111111:stage/dst-x"
DST_Y = "arn:aws:ivs:us-east-1:111111111111:stage/dst-y"
START = datetime(2025, 3, 1, tzinfo=UTC)
# The columns Scan.ledger_row and Scan.replica_rows fill, in order; the others stay NULL.
LEDGER_ROW_COLUMNS = (
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
    "_dlt_load_id",
)
REPLICA_ROW_COLUMNS = (
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
    "_dlt_load_id",
)

Row = tuple[Any, ...]


def at(hour: int) -> datetime:
    """The moment `hour` hours after the start of the test history (hour 24 is the next day)."""
    return START + timedelta(hours=hour)


def run_id(hour: int) -> str:
    """The run scheduled at `hour`."""
    return f"run-{hour:03d}"


def load_id(hour: int, late: int = 0) -> str:
    """dlt's id of the load package of the run at `hour` (`late`: loaded that many hours on)."""
    return f"{1_740_787_200 + (hour + late) * 3600}.{late:06d}"


@dataclass(frozen=True)
class Replica:
    """One replica as a scan reports it: a destination, a state, the two session ids."""

    destination_stage_arn: str
    replication_state: str
    source_session_id: str = "src-session"
    destination_session_id: str = "dst-session"


@dataclass(frozen=True)
class Scan:
    """One participant scan of one run, with the replicas it saw (none when it failed)."""

    hour: int
    participant_id: str
    replicas: tuple[Replica, ...] = ()
    source_stage_arn: str = SRC_A
    status: str = "ok"
    late: int = 0
    replica_count: int | None = None
    run: str | None = None

    @property
    def run_id(self) -> str:
        """The run the scan belongs to: the run scheduled at its hour, unless named."""
        return self.run or run_id(self.hour)

    @property
    def load_id(self) -> str:
        """The load package the scan's rows arrive in."""
        return load_id(self.hour, self.late)

    def ledger_row(self) -> Row:
        """The scan's row in participant_scans."""
        failed = self.status != "ok"
        return (
            self.run_id,
            self.source_stage_arn,
            self.participant_id,
            REGION,
            ACCOUNT_ID,
            at(self.hour),
            at(self.hour) + timedelta(seconds=2),
            self.status,
            0 if failed else 1,
            0
            if failed
            else len(self.replicas)
            if self.replica_count is None
            else self.replica_count,
            "ThrottlingException" if failed else None,
            "Rate exceeded" if failed else None,
            self.load_id,
        )

    def replica_rows(self) -> list[Row]:
        """The scan's rows in participant_replicas."""
        return [
            (
                self.source_stage_arn,
                self.participant_id,
                replica.source_session_id,
                replica.destination_stage_arn,
                replica.destination_session_id,
                replica.replication_state,
                at(self.hour),
                self.run_id,
                REGION,
                ACCOUNT_ID,
                self.load_id,
            )
            for replica in self.replicas
        ]


def ok(hour: int, participant_id: str, *replicas: Replica, stage: str = SRC_A) -> Scan:
    """A successful scan that saw these replicas."""
    return Scan(hour, participant_id, tuple(replicas), source_stage_arn=stage)


def failed(hour: int, participant_id: str, stage: str = SRC_A) -> Scan:
    """A failed scan: no replica rows."""
    return Scan(hour, participant_id, (), source_stage_arn=stage, status="failed")


def active(destination: str = DST_X, session: str = "dst-session") -> Replica:
    """An ACTIVE replica into `destination`."""
    return Replica(destination, "ACTIVE", destination_session_id=session)


def stopped(destination: str = DST_X, session: str = "dst-session") -> Replica:
    """A STOPPED replica into `destination`."""
    return Replica(destination, "STOPPED", destination_session_id=session)


def key(
    participant_id: str,
    destination: str = DST_X,
    stage: str = SRC_A,
    session: str = "dst-session",
) -> Row:
    """A replica key as the views spell it (five columns)."""
    return (stage, participant_id, "src-session", destination, session)


def load(connection: duckdb.DuckDBPyConnection, scans: Iterable[Scan], copies: int = 1) -> None:
    """Insert the scans (each `copies` times) into the two source tables, loads completed.

    Each scan's rows belong to the load package of its run (`Scan.load_id`), which is
    listed as completed in _dlt_loads.
    """
    scans = list(scans) * copies
    schema = quote_identifier(DEFAULT_DATASET)
    loads = sorted({scan.load_id for scan in scans})
    if loads:
        connection.executemany(
            f"insert into {schema}._dlt_loads (load_id, status) values (?, 0)",
            [[load] for load in loads],
        )
    ledger = [scan.ledger_row() for scan in scans]
    replicas = [row for scan in scans for row in scan.replica_rows()]
    for table, names, rows in (
        (SCANS_TABLE, LEDGER_ROW_COLUMNS, ledger),
        (REPLICAS_TABLE, REPLICA_ROW_COLUMNS, replicas),
    ):
        if rows:
            columns = ", ".join(names)
            connection.executemany(
                f"insert into {schema}.{table} ({columns}) values ({marks(len(names))})", rows
            )


def marks(count: int) -> str:
    """`count` comma-separated parameter marks."""
    return ", ".join(["?"] * count)


def history_database(
    scans: Iterable[Scan], copies: int = 1, path: str = ":memory:"
) -> duckdb.DuckDBPyConnection:
    """A database (in memory by default) with the history loaded, derived, the views applied."""
    connection = duckdb.connect(path)
    connection.execute("set TimeZone = 'UTC'")
    views.apply_views(connection, DEFAULT_DATASET)
    load(connection, scans, copies)
    derived.maintain(connection, DEFAULT_DATASET)
    return connection


def column_types(connection: duckdb.DuckDBPyConnection, view: str) -> dict[str, str]:
    """Each column of a view (or table) in the dataset, in order, with its DuckDB type."""
    schema = quote_identifier(DEFAULT_DATASET)
    return {row[0]: row[1] for row in connection.execute(f"describe {schema}.{view}").fetchall()}


def view_columns(connection: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    """The columns of a view in the dataset, from DuckDB's describe."""
    return list(column_types(connection, view))


def view_rows(
    connection: duckdb.DuckDBPyConnection, view: str, columns: Iterable[str]
) -> list[Row]:
    """The view's rows (these columns), sorted with NULLs first."""
    schema = quote_identifier(DEFAULT_DATASET)
    selected = ", ".join(columns)
    rows = connection.execute(f"select {selected} from {schema}.{view}").fetchall()
    return sorted(rows, key=sort_key)


def sort_key(row: Row) -> tuple[tuple[bool, Any], ...]:
    """Order rows by their values, NULLs first."""
    return tuple((value is not None, value) for value in row)
