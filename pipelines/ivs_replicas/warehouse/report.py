"""What `ivs-replicas report` prints: one table or view in report order, or the overview."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime

import duckdb
import pandas as pd

from ivs_replicas.errors import BadInputError
from ivs_replicas.warehouse.catalog import Relation, catalogue, find, sql_dir, sql_files, sql_name
from ivs_replicas.warehouse.database import (
    Database,
    as_utc,
    connect_read_only,
    default_schema,
    qualified,
    quote_identifier,
    require_objects,
)
from ivs_replicas.warehouse.render import NOTE

# The overview's SQL, one statement per file, run in order with the dataset as default schema:
# each select is a frame, named like its file; other statements (a `set variable`) prepare them.
OVERVIEW_DIR = "overview"
# Rows per overview section in the table and markdown formats, unless --limit says otherwise.
OVERVIEW_ROWS = 10
# Frame attribute: a section's rows in all, before the limit.
TOTAL_ROWS = "total_rows"


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse a window that ends before it starts."""
    if since is not None and until is not None and as_utc(since) >= as_utc(until):
        raise BadInputError(
            f"--since {as_utc(since).isoformat()} is not before --until "
            f"{as_utc(until).isoformat()}: nothing can fall between them"
        )


def timestamp_literal(moment: datetime) -> str:
    """A moment as a DuckDB timestamptz literal (the text is our own ISO rendering)."""
    return f"'{as_utc(moment).isoformat()}'::timestamptz"


def window_condition(column: str, since: datetime | None, until: datetime | None) -> str:
    """The SQL condition keeping rows from `since` (inclusive) to `until` (exclusive).

    A `day` column keeps the UTC days that overlap the window.
    """
    quoted = quote_identifier(column)
    conditions = []
    if since is not None:
        start = timestamp_literal(since)
        conditions.append(
            f"{quoted} >= timezone('UTC', {start})::date"
            if column == "day"
            else f"{quoted} >= {start}"
        )
    if until is not None:
        end = timestamp_literal(until)
        conditions.append(
            f"{quoted} < timezone('UTC', {end})" if column == "day" else f"{quoted} < {end}"
        )
    return " and ".join(conditions) or "true"


def window_flags(since: datetime | None, until: datetime | None) -> str:
    """The window flags a user gave, as they would type them."""
    return "/".join(flag for flag, value in (("--since", since), ("--until", until)) if value)


def time_column(relation: Relation, since: datetime | None, until: datetime | None) -> str | None:
    """The column a window filters a relation on; bad input when it has none."""
    if (since is not None or until is not None) and relation.since is None:
        timed = ", ".join(name for name, entry in catalogue().items() if entry.since)
        raise BadInputError(
            f"{window_flags(since, until)} does not apply to {relation.name}: it has no timestamp "
            f"column. These have one: {timed}"
        )
    return relation.since


def query_view(
    db_path: Database,
    dataset: str,
    name: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Rows of one view or loaded table in report order, within [since, until), at most `limit`."""
    relation = find(name)
    check_window(since, until)
    column = time_column(relation, since, until)
    sql = f"select * from {qualified(dataset, name)}"
    if column is not None and (since is not None or until is not None):
        sql += f" where {window_condition(column, since, until)}"
    sql += f" order by {', '.join(relation.order_by)}"
    if limit is not None:
        sql += f" limit {int(limit)}"
    with closing(connect_read_only(db_path)) as connection:
        require_objects(connection, dataset, db_path, {name: relation.kind})
        return connection.execute(sql).df()


def overview_statements() -> dict[str, str]:
    """Each overview file's name and SQL, from sql/overview/NNN_name.sql, in order."""
    return {
        sql_name(path): path.read_text(encoding="utf-8")
        for path in sql_files(sql_dir() / OVERVIEW_DIR)
    }


def is_select(sql: str) -> bool:
    """Whether a file's statement is a query, whose rows are a frame."""
    return all(statement.type.name == "SELECT" for statement in duckdb.extract_statements(sql))


def overview(
    db_path: Database,
    dataset: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> dict[str, pd.DataFrame]:
    """The default report: current replicas by state, latest run's changes, scan health.

    Each section keeps its rows within [since, until) on the time column of the view it reads
    (as `report VIEW` would), and at most `limit` of them; `frame.attrs` holds how many there
    are in all, and a note for the reader. `report_since` and `report_until` are set as DuckDB
    variables (-infinity / infinity when open): the overview's SQL picks the window's runs.
    """
    check_window(since, until)
    statements = overview_statements()
    reads = {name: duckdb.get_table_names(sql) for name, sql in statements.items()}
    frames = {}
    with closing(connect_read_only(db_path)) as connection:
        wanted = sorted(set().union(*reads.values()))
        require_objects(connection, dataset, db_path, dict.fromkeys(wanted, "view"))
        with default_schema(connection, dataset):
            for variable, moment, open_end in (
                ("report_since", since, "timestamptz '-infinity'"),
                ("report_until", until, "timestamptz 'infinity'"),
            ):
                value = open_end if moment is None else timestamp_literal(moment)
                connection.execute(f"set variable {variable} = {value}")
            for name, sql in statements.items():
                if is_select(sql):
                    frames[name] = section(connection.sql(sql), reads[name], since, until, limit)
                else:
                    connection.execute(sql)
    return frames


def section(
    rows: duckdb.DuckDBPyRelation,
    reads: set[str],
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
) -> pd.DataFrame:
    """One overview section: its rows within the window, at most `limit`, with their count."""
    windowed = since is not None or until is not None
    known = catalogue()
    columns = [known[name].since for name in sorted(reads) if name in known and known[name].since]
    column = next((column for column in columns if column in rows.columns), None)
    notes = []
    if windowed and column is not None:
        rows = rows.filter(window_condition(column, since, until))
    elif windowed:
        notes.append(
            f"not limited by {window_flags(since, until)}: this section has no time column"
        )
    frame = (rows if limit is None else rows.limit(limit)).df()
    total = len(frame)
    if limit is not None and total == limit:
        counted = rows.aggregate("count(*)").fetchone()
        total = int(counted[0]) if counted else total
    if total > len(frame):
        notes.insert(0, f"first {len(frame):,} of {total:,} rows; --limit N shows more")
    frame.attrs[TOTAL_ROWS] = total
    frame.attrs[NOTE] = "; ".join(notes)
    return frame


def overview_rows(fmt: str) -> int | None:
    """Rows per overview section by default: a screenful for people, all of them for programs."""
    return OVERVIEW_ROWS if fmt in ("table", "markdown") else None
