"""Keep the derived tables up to date: after each load, only its rows and the open stretches.

The history views read tables derived from the raw `participant_scans` and
`participant_replicas` (sql/derived/). After each load, `maintain` takes in the load packages
that dlt has completed and `derived_loads` does not list yet, reading only their rows and the
state each of their participants was left in (its latest successful scan and the replicas
that scan saw, the stretches still open). A participant whose new rows are not later than
what is derived of it (a scan that arrived out of order, or a copy of one already derived) is
recomputed whole from its raw rows instead. `rebuild` recomputes everything from the raw rows.

Each call is one transaction: the derived rows and the load ids they cover are committed
together, so a kill at any point leaves either everything or nothing of it, and the next call
redoes what was lost. The same plain SQL (tables without keys or indexes, delete and insert)
runs in a DuckDB file and in a DuckLake. The steps are the files in sql/maintain/, run in
order over temporary tables: batch_* (the raw rows being derived) and context_* (what is
derived already of the batch's participants).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ivs_replicas.sources.ivs_realtime.settings import REPLICAS_TABLE, SCANS_TABLE
from ivs_replicas.warehouse.catalog import sql_dir, sql_files, sql_name
from ivs_replicas.warehouse.database import dataset_objects, default_schema, utc_day

if TYPE_CHECKING:
    from ivs_replicas.storage import Storage

# The layout of the derived tables: a database derived with another one is rebuilt.
VERSION = 1
DERIVED_DIR = "derived"
MAINTAIN_DIR = "maintain"
STATE_TABLE = "derived_state"
LOADS_TABLE = "derived_loads"
# The derived tables a participant's rows live in, each with the participant's columns.
PARTICIPANT_TABLES = (
    "derived_scans",
    "derived_observations",
    "derived_intervals",
    "derived_replicas",
    "derived_participants",
    "derived_participant_days",
)
DERIVED_TABLES = (STATE_TABLE, LOADS_TABLE, *PARTICIPANT_TABLES, "derived_runs")
# The steps that derive a batch (in order), and the one that writes it.
DERIVE_STEPS = (
    "batch_scans",
    "batch_seed_scans",
    "batch_observations",
    "batch_intervals",
    "batch_replicas",
    "batch_participants",
    "batch_participant_days",
)
RUNS_STEP = "batch_runs"
WRITE_STEP = "write"
# The columns the batch reads from the raw tables, with the load package as load_id.
SCAN_COLUMNS = """
    run_id, source_stage_arn, participant_id, region, account_id, scanned_at, finished_at,
    status, pages, replica_count, error_code, error_message, _dlt_load_id as load_id
"""
REPLICA_COLUMNS = """
    source_stage_arn, participant_id, source_session_id, destination_stage_arn,
    destination_session_id, replication_state, run_id, _dlt_load_id as load_id
"""
# Rows of completed loads, as the loaded_* views read them: no load id counts as completed.
COMPLETED = (
    "(_dlt_load_id is null or _dlt_load_id in (select load_id from _dlt_loads where status = 0))"
)
PARTICIPANT_KEY = ("source_stage_arn", "participant_id")


@dataclass(frozen=True)
class Maintenance:
    """What one maintenance (or rebuild) took in."""

    loads: int
    scans: int
    recomputed_participants: int
    seconds: float


@cache
def step_sql() -> dict[str, str]:
    """Each maintenance step's SQL, by name, from sql/maintain/NNN_name.sql."""
    return {
        sql_name(path): path.read_text(encoding="utf-8")
        for path in sql_files(sql_dir() / MAINTAIN_DIR)
    }


def table_files() -> list[Path]:
    """The files that create the derived tables, in order."""
    return sql_files(sql_dir() / DERIVED_DIR)


def create_derived_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the derived tables in the default schema; drop and recreate an older layout.

    Recreated tables are empty and derived_loads lists nothing, so the next maintenance
    derives every load again.
    """
    existing = set(dataset_objects(connection))
    if STATE_TABLE in existing and stored_version(connection) != VERSION:
        for table in DERIVED_TABLES:
            if table in existing:
                connection.execute(f"drop table {table}")
    for path in table_files():
        connection.execute(path.read_text(encoding="utf-8"))
    if stored_version(connection) is None:
        connection.execute(f"insert into {STATE_TABLE} values ({VERSION}, null)")


def stored_version(connection: duckdb.DuckDBPyConnection) -> int | None:
    """The layout version the derived tables were made with, or None before any."""
    row = connection.execute(f"select max(version) from {STATE_TABLE}").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def maintain(connection: duckdb.DuckDBPyConnection, dataset: str) -> Maintenance:
    """Take the completed loads the derived tables lack into them, in one transaction."""
    started = time.monotonic()
    with default_schema(connection, dataset), transaction(connection):
        claim(connection)
        new_loads = stage_new_loads(connection)
        if not new_loads:
            return Maintenance(0, 0, 0, time.monotonic() - started)
        scans = stage_new_rows(connection, min(new_loads))
        create_temp(connection, "recomputed_runs", "select run_id from new_scans limit 0")
        recomputed = stage_recomputed_participants(connection)
        if recomputed:
            recompute_participants(connection)
        extend_participants(connection)
        recompute_runs(connection)
        connection.execute(
            f"insert into {LOADS_TABLE} select load_id, now() from new_loads order by load_id"
        )
    return Maintenance(len(new_loads), scans, recomputed, time.monotonic() - started)


def rebuild(connection: duckdb.DuckDBPyConnection, dataset: str) -> Maintenance:
    """Recompute every derived row from the raw rows of completed loads, in one transaction."""
    started = time.monotonic()
    with default_schema(connection, dataset), transaction(connection):
        claim(connection)
        for table in (LOADS_TABLE, *PARTICIPANT_TABLES, "derived_runs"):
            connection.execute(f"delete from {table}")
        create_temp(
            connection, "batch_scans", f"select {SCAN_COLUMNS} from {SCANS_TABLE} where {COMPLETED}"
        )
        create_temp(
            connection,
            "batch_replicas",
            f"select {REPLICA_COLUMNS} from {REPLICAS_TABLE} where {COMPLETED}",
        )
        empty_contexts(connection)
        derive_and_write(connection, seeds=False)
        create_temp(connection, "recomputed_runs", "select distinct run_id from derived_scans")
        recompute_runs(connection)
        connection.execute(
            f"insert into {LOADS_TABLE} select load_id, now() from _dlt_loads "
            "where status = 0 order by load_id"
        )
        loads = count(connection, LOADS_TABLE)
        scans = count(connection, "derived_scans")
        participants = count(connection, "derived_participants")
    return Maintenance(loads, scans, participants, time.monotonic() - started)


def rebuild_store(storage: Storage, dataset: str) -> Maintenance:
    """`ivs-replicas rebuild`: under the run lock, recompute the derived tables, then publish.

    A DuckDB file is rebuilt in the writer's working store and published whole, as a run
    does; a lake commits the rebuild as one snapshot.
    """
    from ivs_replicas.locking import exclusive_lock
    from ivs_replicas.storage import check_dataset_name
    from ivs_replicas.warehouse.views import apply_views

    def step() -> Maintenance:
        with closing(storage.connect()) as connection:
            apply_views(connection, dataset)
            return rebuild(connection, dataset)

    dataset = check_dataset_name(dataset, storage)
    storage.prepare()
    with exclusive_lock(storage.lock_path, f"a run or rebuild of {storage.describe()}"):
        rebuilt = storage.write(step)
        storage.publish()
    return rebuilt


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block: committed whole, or rolled back."""
    connection.execute("begin transaction")
    try:
        yield
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


def claim(connection: duckdb.DuckDBPyConnection) -> None:
    """Write the state row first: two maintainers of one lake at once conflict, one repeats."""
    connection.execute(f"update {STATE_TABLE} set maintained_at = now()")


def stage_new_loads(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The completed load packages not derived yet, as the temporary table new_loads."""
    create_temp(
        connection,
        "new_loads",
        f"""
        select distinct load_id from _dlt_loads
        where status = 0 and load_id not in (select load_id from {LOADS_TABLE})
        """,
    )
    return [
        load_id for (load_id,) in connection.execute("select load_id from new_loads").fetchall()
    ]


def stage_new_rows(connection: duckdb.DuckDBPyConnection, oldest_load: str) -> int:
    """The rows of the new loads, as new_scans and new_replicas; return the ledger rows.

    Load ids grow with time and rows are appended in load order, so the range condition
    lets the tables' min-max statistics skip everything loaded before.
    """
    for name, table, columns in (
        ("new_scans", SCANS_TABLE, SCAN_COLUMNS),
        ("new_replicas", REPLICAS_TABLE, REPLICA_COLUMNS),
    ):
        create_temp(
            connection,
            name,
            f"""
            select {columns} from {table}
            where _dlt_load_id >= $oldest_load
                and _dlt_load_id in (select load_id from new_loads)
            """,
            {"oldest_load": oldest_load},
        )
    return count(connection, "new_scans")


def stage_recomputed_participants(connection: duckdb.DuckDBPyConnection) -> int:
    """The participants to recompute whole, as recomputed_participants; return how many.

    Those with a new scan not later than their latest derived scan (out of order, or a copy),
    and those whose new load packages disagree on order among themselves.
    """
    create_temp(
        connection,
        "recomputed_participants",
        """
        with arrivals as (
            select
                source_stage_arn,
                participant_id,
                min(scanned_at) as first_scanned_at,
                max(scanned_at) as last_scanned_at,
                max(max(scanned_at)) over (
                    partition by source_stage_arn, participant_id
                    order by load_id
                    rows between unbounded preceding and 1 preceding
                ) as earlier_scanned_at
            from new_scans
            group by source_stage_arn, participant_id, load_id
        )
        select distinct arrivals.source_stage_arn, arrivals.participant_id
        from arrivals
        left join derived_participants as known
            on arrivals.source_stage_arn = known.source_stage_arn
            and arrivals.participant_id = known.participant_id
        where arrivals.first_scanned_at <= known.last_scanned_at
            or arrivals.first_scanned_at <= arrivals.earlier_scanned_at
        """,
    )
    return count(connection, "recomputed_participants")


def recompute_participants(connection: duckdb.DuckDBPyConnection) -> None:
    """Delete everything derived of recomputed_participants and derive it from their raw rows."""
    create_temp(
        connection,
        "recomputed_runs",
        f"""
        select run_id from derived_scans
        semi join recomputed_participants using ({", ".join(PARTICIPANT_KEY)})
        union
        select run_id from new_scans
        semi join recomputed_participants using ({", ".join(PARTICIPANT_KEY)})
        """,
    )
    for table in PARTICIPANT_TABLES:
        connection.execute(
            f"""
            delete from {table} using recomputed_participants
            where {table}.source_stage_arn = recomputed_participants.source_stage_arn
                and {table}.participant_id = recomputed_participants.participant_id
            """
        )
    for name, table, columns in (
        ("batch_scans", SCANS_TABLE, SCAN_COLUMNS),
        ("batch_replicas", REPLICAS_TABLE, REPLICA_COLUMNS),
    ):
        create_temp(
            connection,
            name,
            f"""
            select {columns} from {table}
            semi join recomputed_participants using ({", ".join(PARTICIPANT_KEY)})
            where {COMPLETED}
            """,
        )
    empty_contexts(connection)
    derive_and_write(connection, seeds=False)


def extend_participants(connection: duckdb.DuckDBPyConnection) -> None:
    """Derive the new rows of the other participants on from the state they were left in."""
    key = ", ".join(PARTICIPANT_KEY)
    for name, source in (("batch_scans", "new_scans"), ("batch_replicas", "new_replicas")):
        create_temp(
            connection,
            name,
            f"select * from {source} anti join recomputed_participants using ({key})",
        )
    create_temp(
        connection,
        "context_participants",
        f"select * from derived_participants semi join batch_scans using ({key})",
    )
    create_temp(
        connection,
        "context_replicas",
        """
        select * from derived_replicas
        semi join batch_replicas using (
            source_stage_arn, participant_id, source_session_id, destination_stage_arn,
            destination_session_id
        )
        """,
    )
    create_temp(
        connection,
        "context_participant_days",
        f"""
        select * from derived_participant_days
        semi join (
            select distinct {key}, {utc_day("scanned_at")} as day from batch_scans
        ) as batch_days using ({key}, day)
        """,
    )
    create_temp(
        connection,
        "context_runs",
        """
        select * from derived_runs
        where run_id in (select run_id from batch_scans)
            and run_id not in (select run_id from recomputed_runs)
        """,
    )
    derive_and_write(connection, seeds=True)
    run_step(connection, RUNS_STEP)
    connection.execute(
        """
        delete from batch_derived_runs where run_id in (select run_id from recomputed_runs);
        delete from derived_runs where run_id in (select run_id from batch_derived_runs);
        insert into derived_runs by name select * from batch_derived_runs;
        """
    )


def derive_and_write(connection: duckdb.DuckDBPyConnection, seeds: bool) -> None:
    """Run the derive steps over the batch, then write what they derived.

    With seeds, the seed observations (what the seed scans saw) are read once the batch's
    scans say which seed scans the batch follows.
    """
    oldest_seed_at = None
    for name in DERIVE_STEPS:
        run_step(connection, name)
        if name == "batch_seed_scans" and seeds:
            oldest_seed_at = stage_seed_observations(connection)
    run_step(connection, WRITE_STEP, {"oldest_seed_at": oldest_seed_at})


def stage_seed_observations(connection: duckdb.DuckDBPyConnection) -> object:
    """The derived observations of the seed scans, as context_observations; the oldest seed."""
    row = connection.execute("select min(scanned_at) from batch_seed_scans").fetchone()
    oldest = row[0] if row else None
    create_temp(
        connection,
        "context_observations",
        """
        select derived_observations.* from derived_observations
        semi join batch_seed_scans using (source_stage_arn, participant_id, run_id)
        where derived_observations.observed_at >= $oldest_seed_at
        """,
        {"oldest_seed_at": oldest},
    )
    return oldest


def recompute_runs(connection: duckdb.DuckDBPyConnection) -> None:
    """Recompute the runs in recomputed_runs from derived_scans: the runs step, nothing known."""
    create_temp(
        connection,
        "batch_derived_scans",
        "select * from derived_scans where run_id in (select run_id from recomputed_runs)",
    )
    create_temp(connection, "context_runs", "select * from derived_runs limit 0")
    run_step(connection, RUNS_STEP)
    connection.execute(
        """
        delete from derived_runs where run_id in (select run_id from recomputed_runs);
        insert into derived_runs by name select * from batch_derived_runs;
        """
    )


def empty_contexts(connection: duckdb.DuckDBPyConnection) -> None:
    """Context tables with nothing derived: a rebuild, or participants recomputed whole."""
    for name, table in (
        ("context_participants", "derived_participants"),
        ("context_observations", "derived_observations"),
        ("context_replicas", "derived_replicas"),
        ("context_participant_days", "derived_participant_days"),
        ("context_runs", "derived_runs"),
    ):
        create_temp(connection, name, f"select * from {table} limit 0")


def run_step(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    variables: Mapping[str, object] | None = None,
) -> None:
    """Run one step file, with its variables set first (the files read them by getvariable)."""
    for variable, value in (variables or {}).items():
        connection.execute(f"set variable {variable} = ?", [value])
    connection.execute(step_sql()[name])


def create_temp(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    query: str,
    parameters: Mapping[str, object] | None = None,
) -> None:
    """Create or replace a temporary table from a query."""
    connection.execute(f"create or replace temp table {name} as {query}", parameters or None)


def count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in a table."""
    row = connection.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0
