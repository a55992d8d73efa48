"""Connections to the analysts' DuckDB file: read-only, in UTC, with errors a user can act on."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeAlias

import duckdb

from ivs_replicas.errors import BadInputError, DatabaseBusyError


class ReadOnlyStore(Protocol):
    """A store that opens its own read-only connections (a DuckLake: ivs_replicas.storage)."""

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        """A connection whose default catalog holds the datasets, nothing writable."""
        ...


# What analysts read: the DuckDB file, by its path, or a store such as a DuckLake.
Database: TypeAlias = str | Path | ReadOnlyStore

LOCK_ERROR = "Could not set lock on file"
SAME_PROCESS_ERROR = "different configuration"


def quote_identifier(name: str) -> str:
    """Quote a DuckDB identifier (schema, table or view name)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(dataset: str, name: str) -> str:
    """A table or view of the dataset, quoted: `"dataset"."name"`."""
    return f"{quote_identifier(dataset)}.{quote_identifier(name)}"


def utc_day(column: str) -> str:
    """SQL for the UTC day of a timestamp column: whole days since the epoch, far cheaper than
    timezone() per row."""
    return f"date '1970-01-01' + (epoch_us({column}) // 86400000000)::integer"


def as_utc(moment: datetime) -> datetime:
    """The moment as an aware UTC datetime; naive ones are read as UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def default_schema(connection: duckdb.DuckDBPyConnection, dataset: str) -> Iterator[None]:
    """Make the dataset the connection's default schema for the block, then restore it."""
    catalog, schema = connection.execute(
        "select current_database(), current_schema()"
    ).fetchone() or ("memory", "main")
    connection.execute(f"use {quote_identifier(catalog)}.{quote_identifier(dataset)}")
    try:
        yield
    finally:
        connection.execute(f"use {quote_identifier(catalog)}.{quote_identifier(schema)}")


def connect_read_only(db_path: Database) -> duckdb.DuckDBPyConnection:
    """Open the database read-only, with timestamps in UTC; fail with an actionable error."""
    if not isinstance(db_path, str | Path):
        connection = db_path.connect_read_only()
        connection.execute("set TimeZone = 'UTC'")
        return connection
    path = Path(db_path)
    if not path.is_file():
        raise BadInputError(
            f"database file not found: {path}; run `ivs-replicas run` first or pass --db"
        )
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException) as error:
        busy = busy_error(path, str(error))
        if busy is None:
            raise
        raise busy from None
    connection.execute("set TimeZone = 'UTC'")
    return connection


def busy_error(path: Path, message: str) -> DatabaseBusyError | None:
    """DuckDB's error on opening a database read-only, as the error a user can act on."""
    if LOCK_ERROR in message:
        holder = re.search(r"\(PID (\d+)\)", message)
        who = f" (pid {holder[1]}, a run in progress?)" if holder else " (a run in progress?)"
        return DatabaseBusyError(
            f"{path} is being written by another process{who}; try again when it finishes"
        )
    if SAME_PROCESS_ERROR in message:
        return DatabaseBusyError(
            f"{path} is open for writing in this process; close that connection first"
        )
    return None


def dataset_objects(
    connection: duckdb.DuckDBPyConnection, dataset: str | None = None
) -> dict[str, str]:
    """Map each table and view in the dataset schema (by default the connection's default
    schema) to its kind ('table' or 'view')."""
    rows = connection.execute(
        """
        select table_name, case when table_type = 'VIEW' then 'view' else 'table' end
        from information_schema.tables
        where table_catalog = current_database() and table_schema = coalesce(?, current_schema())
        order by table_name
        """,
        [dataset],
    ).fetchall()
    return dict(rows)


def require_objects(
    connection: duckdb.DuckDBPyConnection,
    dataset: str,
    db_path: Database,
    wanted: Mapping[str, str],
) -> None:
    """Fail with what to do when the dataset, or one of the wanted tables or views, is missing.

    Args:
        wanted: each name with its kind, 'table' or 'view'.
    """
    objects = dataset_objects(connection, dataset)
    if not objects:
        raise BadInputError(
            f"{db_path} has no dataset {dataset!r}: run `ivs-replicas run` first, "
            "or pass the --dataset it loaded"
        )
    missing = {name: kind for name, kind in wanted.items() if objects.get(name) != kind}
    if missing:
        kinds = " or ".join(sorted(set(missing.values())))
        raise BadInputError(
            f"{db_path} has no {kinds} {', '.join(missing)} in dataset {dataset!r} (made by an "
            "older version?): run `ivs-replicas run`, which creates the views, or apply them "
            "by hand as the README shows"
        )
