"""DuckDB side: apply the history views in sql/, report on them, export everything as Parquet."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from ivs_replicas.errors import BadInputError, DatabaseBusyError
from ivs_replicas.sources.ivs_realtime.settings import REPLICAS_TABLE, SCANS_TABLE

VIEW_FILE = re.compile(r"^\d+_(?P<name>[a-z][a-z0-9_]*)\.sql$")
LOCK_ERROR = "Could not set lock on file"
SAME_PROCESS_ERROR = "different configuration"
PARTITION_COLUMN = "observed_day"
# The UTC day of observed_at: whole days since the epoch, far cheaper than timezone() per row.
UTC_DAY = "date '1970-01-01' + (epoch_us(observed_at) // 86400000000)::integer"
RECENT_RUNS = 5
FORMATS = ("table", "csv", "json")

SOURCE_TABLES = {
    REPLICAS_TABLE: {
        "source_stage_arn": "varchar",
        "participant_id": "varchar",
        "source_session_id": "varchar",
        "destination_stage_arn": "varchar",
        "destination_session_id": "varchar",
        "replication_state": "varchar",
        "observed_at": "timestamptz",
        "run_id": "varchar",
        "region": "varchar",
        "account_id": "varchar",
        "_dlt_load_id": "varchar",
    },
    SCANS_TABLE: {
        "run_id": "varchar",
        "source_stage_arn": "varchar",
        "participant_id": "varchar",
        "region": "varchar",
        "account_id": "varchar",
        "scanned_at": "timestamptz",
        "finished_at": "timestamptz",
        "status": "varchar",
        "pages": "bigint",
        "replica_count": "bigint",
        "error_code": "varchar",
        "error_message": "varchar",
        "event_count": "bigint",
        "events_error_code": "varchar",
        "_dlt_load_id": "varchar",
    },
    "participant_events": {
        "event_key": "varchar",
        "stage_arn": "varchar",
        "session_id": "varchar",
        "participant_id": "varchar",
        "event_name": "varchar",
        "event_at": "timestamptz",
        "destination_stage_arn": "varchar",
        "destination_session_id": "varchar",
        "remote_participant_id": "varchar",
        "error_code": "varchar",
        "is_replica": "boolean",
        "run_id": "varchar",
    },
    "_dlt_loads": {"load_id": "varchar", "status": "bigint"},
}

# The column --since filters on, per view (a timestamp, or a UTC day for replication_daily).
SINCE_COLUMNS = {
    "scanned_participants": "",
    "replica_keys": "",
    "scans": "scanned_at",
    "replica_observations": "observed_at",
    "replica_state_intervals": "started_at",
    "replica_state_changes": "changed_at",
    "replicas_current": "state_since",
    "replication_daily": "day",
    "participant_replication_summary": "last_scanned_at",
    "scan_runs": "started_at",
}

REPLICA_KEY_ORDER = (
    "source_stage_arn, participant_id, source_session_id, destination_stage_arn, "
    "destination_session_id"
)

# The order rows are reported in, per view.
ORDER_BY = {
    "scanned_participants": "source_stage_arn, participant_id",
    "replica_keys": REPLICA_KEY_ORDER,
    "scans": "scanned_at, source_stage_arn, participant_id, run_id",
    "replica_observations": f"{REPLICA_KEY_ORDER}, observed_at",
    "replica_state_intervals": f"{REPLICA_KEY_ORDER}, started_at",
    "replica_state_changes": f"changed_at, {REPLICA_KEY_ORDER}",
    "replicas_current": REPLICA_KEY_ORDER,
    "replication_daily": "day, source_stage_arn, destination_stage_arn",
    "participant_replication_summary": "source_stage_arn, participant_id",
    "scan_runs": "started_at, run_id",
}


def sql_dir() -> Path:
    """The folder of view files, shipped with the package as `ivs_replicas.sql`."""
    return Path(str(resources.files("ivs_replicas.sql")))


def view_files() -> list[Path]:
    """The view files, in the order they are applied."""
    return sorted(path for path in sql_dir().glob("*.sql") if VIEW_FILE.match(path.name))


def view_name(path: Path) -> str:
    """The view a file creates: its name without the order prefix and the extension."""
    match = VIEW_FILE.match(path.name)
    if match is None:
        raise BadInputError(f"{path} is not named like NNN_view_name.sql")
    return match["name"]


def view_names() -> list[str]:
    """The names of the views, in the order they are applied."""
    return [view_name(path) for path in view_files()]


def quote_identifier(name: str) -> str:
    """Quote a DuckDB identifier (schema, table or view name)."""
    return '"' + name.replace('"', '""') + '"'


def create_source_tables(connection: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Create the dataset schema, and any missing source table or column the views read."""
    schema = quote_identifier(dataset)
    connection.execute(f"create schema if not exists {schema}")
    for table, columns in SOURCE_TABLES.items():
        definition = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        connection.execute(f"create table if not exists {schema}.{table} ({definition})")
        for name, kind in columns.items():
            connection.execute(
                f"alter table {schema}.{table} add column if not exists {name} {kind}"
            )


def apply_views(connection: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Create or replace every view in the dataset schema, in one transaction; return names.

    Missing source tables are created empty first, so the views always bind. The files name
    tables unqualified; they run with the dataset as the default schema, as by hand with
    `duckdb FILE -c "use DATASET" -c ".read sql/NNN_view.sql"`.
    """
    create_source_tables(connection, dataset)
    with default_schema(connection, dataset):
        connection.execute("begin transaction")
        try:
            for path in view_files():
                connection.execute(path.read_text(encoding="utf-8"))
        except BaseException:
            connection.execute("rollback")
            raise
        connection.execute("commit")
    return view_names()


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


def connect_read_only(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open the database read-only, with timestamps in UTC; fail with an actionable error."""
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


def dataset_objects(connection: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, str]:
    """Map each table and view in the dataset schema to its kind ('table' or 'view')."""
    rows = connection.execute(
        """
        select table_name, case when table_type = 'VIEW' then 'view' else 'table' end
        from information_schema.tables
        where table_catalog = current_database() and table_schema = ?
        order by table_name
        """,
        [dataset],
    ).fetchall()
    return dict(rows)


def require_views(
    connection: duckdb.DuckDBPyConnection, dataset: str, db_path: str | Path, views: list[str]
) -> None:
    """Fail with what to do when the dataset or some of the views are missing."""
    objects = dataset_objects(connection, dataset)
    if not objects:
        raise BadInputError(
            f"{db_path} has no dataset {dataset!r}: run `ivs-replicas run` first, "
            "or pass the --dataset it loaded"
        )
    missing = [view for view in views if objects.get(view) != "view"]
    if missing:
        raise BadInputError(
            f"{db_path} has no view {', '.join(missing)} in dataset {dataset!r} (made by an "
            "older version?): run `ivs-replicas run`, which creates the views, or apply them "
            "by hand as the README shows"
        )


def since_filter(view: str) -> str:
    """The SQL condition --since applies to a view, with one parameter."""
    column = SINCE_COLUMNS.get(view, "")
    if not column:
        raise BadInputError(f"--since does not apply to {view}: it has no timestamp column")
    if column == "day":
        return "day >= timezone('UTC', ?::timestamptz)::date"
    return f"{column} >= ?::timestamptz"


def as_utc(moment: datetime) -> datetime:
    """The moment as an aware UTC datetime; naive ones are read as UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def query_view(
    db_path: str | Path, dataset: str, view: str, since: datetime | None = None
) -> pd.DataFrame:
    """Rows of one view, in report order; `since` keeps rows whose SINCE_COLUMNS value is later."""
    names = view_names()
    if view not in names:
        raise BadInputError(f"unknown view {view!r}; choose one of: {', '.join(names)}")
    sql = f"select * from {quote_identifier(dataset)}.{quote_identifier(view)}"
    parameters: list[object] = []
    if since is not None:
        sql += f" where {since_filter(view)}"
        parameters.append(as_utc(since))
    sql += f" order by {ORDER_BY.get(view, 'all')}"
    with closing(connect_read_only(db_path)) as connection:
        require_views(connection, dataset, db_path, [view])
        return connection.execute(sql, parameters).df()


OVERVIEW_SQL = {
    "replicas_by_state": """
        select
            replication_state,
            count(*) as count_replicas,
            count(distinct (source_stage_arn, participant_id)) as count_participants,
            count(distinct destination_stage_arn) as count_destination_stages,
        from {schema}.replicas_current
        group by replication_state
        order by replication_state
    """,
    "changes_in_latest_run": """
        select
            changed_at, source_stage_arn, participant_id, source_session_id,
            destination_stage_arn, destination_session_id, from_state, to_state,
        from {schema}.replica_state_changes
        where run_id = $latest_run_id
        order by changed_at, source_stage_arn, participant_id, destination_stage_arn,
            destination_session_id
    """,
    "recent_runs": f"""
        select
            run_id, started_at, finished_at, count_participants_ok,
            count_participants_failed, count_replicas,
        from {{schema}}.scan_runs
        order by started_at desc
        limit {RECENT_RUNS}
    """,
    "failed_scans_in_latest_run": """
        select source_stage_arn, participant_id, scanned_at, error_code, error_message,
        from {schema}.scans
        where not is_ok and run_id = $latest_run_id
        order by source_stage_arn, participant_id
    """,
}


def overview(db_path: str | Path, dataset: str) -> dict[str, pd.DataFrame]:
    """The default report: current replicas by state, latest run's changes, scan health."""
    schema = quote_identifier(dataset)
    with closing(connect_read_only(db_path)) as connection:
        require_views(
            connection,
            dataset,
            db_path,
            ["replicas_current", "replica_state_changes", "scan_runs", "scans"],
        )
        latest = connection.execute(
            f"select max_by(run_id, started_at) from {schema}.scan_runs"
        ).fetchone()
        parameters = {"latest_run_id": latest[0] if latest else None}
        return {
            name: connection.execute(
                sql.format(schema=schema), parameters if "$latest_run_id" in sql else None
            ).df()
            for name, sql in OVERVIEW_SQL.items()
        }


def is_missing(value: object) -> bool:
    """Whether a cell is NULL (None, NaN, NaT or NA)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def json_value(value: object) -> object:
    """A cell as a JSON value: timestamps as ISO 8601 UTC text, NULL as null."""
    if is_missing(value):
        return None
    if isinstance(value, datetime) and value.tzinfo is None and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def cell_text(value: object) -> str:
    """A cell as text for the table and CSV formats; NULL is empty."""
    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_table(frame: pd.DataFrame) -> str:
    """A plain text table, columns aligned, numbers to the right."""
    if frame.empty:
        return "(no rows)"
    columns = [str(column) for column in frame.columns]
    cells = [[cell_text(value) for value in row] for row in frame.itertuples(index=False)]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    numeric = [
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        for dtype in frame.dtypes
    ]

    def line(values: list[str]) -> str:
        """One aligned line."""
        padded = (
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(columns), rule, *(line(row) for row in cells)])


def render_csv(frame: pd.DataFrame) -> str:
    """CSV with a header line; NULL is an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([str(column) for column in frame.columns])
    writer.writerows([cell_text(value) for value in row] for row in frame.itertuples(index=False))
    return buffer.getvalue().rstrip("\n")


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The rows as JSON-ready dicts."""
    columns = [str(column) for column in frame.columns]
    return [
        {column: json_value(value) for column, value in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def render(frames: Mapping[str, pd.DataFrame], fmt: str = "table") -> str:
    """Frames as text: 'table' (aligned), 'csv' or 'json'.

    One frame renders alone (a JSON array of objects); several are titled by name (CSV
    sections start with '# name'; JSON is an object of arrays).
    """
    if fmt not in FORMATS:
        raise BadInputError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "json":
        if len(frames) == 1:
            return json.dumps(records(next(iter(frames.values()))), indent=2)
        return json.dumps({name: records(frame) for name, frame in frames.items()}, indent=2)
    single = len(frames) == 1
    if fmt == "csv":
        sections = [
            render_csv(frame) if single else f"# {name}\n{render_csv(frame)}"
            for name, frame in frames.items()
        ]
    else:
        sections = [
            render_table(frame) if single else f"{name}\n\n{render_table(frame)}"
            for name, frame in frames.items()
        ]
    return "\n\n".join(sections)


def export_parquet(db_path: str | Path, out_dir: str | Path, dataset: str) -> dict[str, int]:
    """Write every table and view of the dataset as Parquet under out_dir; return rows per name.

    participant_replicas is hive-partitioned by UTC observation day
    (participant_replicas/observed_day=YYYY-MM-DD/*.parquet); everything else is NAME.parquet.
    All files are written to a staging folder beside the targets first, then each name is
    swapped in, so re-exporting replaces the old files and never duplicates rows.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with closing(connect_read_only(db_path)) as connection:
        require_views(connection, dataset, db_path, view_names())
        objects = dataset_objects(connection, dataset)
        names = [name for name in objects if not name.startswith("_dlt")]
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
        try:
            counts = {name: write_parquet(connection, dataset, name, staging) for name in names}
            for name in names:
                replace_path(staging / export_name(name), out / export_name(name))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return counts


def export_name(name: str) -> str:
    """The file or folder a table or view is exported to."""
    return name if name == REPLICAS_TABLE else f"{name}.parquet"


def write_parquet(
    connection: duckdb.DuckDBPyConnection, dataset: str, name: str, folder: Path
) -> int:
    """Copy one table or view to Parquet in folder; return the row count."""
    relation = f"{quote_identifier(dataset)}.{quote_identifier(name)}"
    target = folder / export_name(name)
    if name != REPLICAS_TABLE:
        return copy_rows(connection, f"select * from {relation}", target, "")
    query = f"select *, {UTC_DAY} as {PARTITION_COLUMN} from {relation}"
    count = copy_rows(connection, query, target, f", partition_by ({PARTITION_COLUMN})")
    if count == 0:
        target.mkdir(exist_ok=True)
        copy_rows(connection, query, target / "empty.parquet", "")
    return count


def copy_rows(connection: duckdb.DuckDBPyConnection, query: str, target: Path, options: str) -> int:
    """COPY a query's rows to a Parquet file or partitioned folder; return the row count."""
    path = str(target).replace("'", "''")
    row = connection.execute(f"copy ({query}) to '{path}' (format parquet{options})").fetchone()
    return int(row[0]) if row else 0


def replace_path(source: Path, target: Path) -> None:
    """Move source to target, replacing it: atomically for a file, by a rename swap for a folder."""
    if not (target.is_dir() or source.is_dir()) or not target.exists():
        os.replace(source, target)
        return
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
    target.rename(aside)
    source.rename(target)
    if aside.is_dir():
        shutil.rmtree(aside)
    else:
        aside.unlink()
