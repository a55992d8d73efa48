"""`ivs-replicas export`: every table and view of the dataset as Parquet, replaced whole."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import closing
from pathlib import Path

import duckdb

from ivs_replicas.sources.ivs_realtime.settings import REPLICAS_TABLE
from ivs_replicas.warehouse.catalog import view_names
from ivs_replicas.warehouse.database import (
    Database,
    connect_read_only,
    dataset_objects,
    qualified,
    require_objects,
    utc_day,
)

PARTITION_COLUMN = "observed_day"
# dlt's own tables, and the derived tables the views read (their rows are the views' rows).
INTERNAL_PREFIXES = ("_dlt", "derived_")


def export_parquet(db_path: Database, out_dir: str | Path, dataset: str) -> dict[str, int]:
    """Write every table and view of the dataset as Parquet under out_dir; return rows per name.

    participant_replicas is hive-partitioned by UTC observation day
    (participant_replicas/observed_day=YYYY-MM-DD/*.parquet); everything else is NAME.parquet.
    All files are written to a staging folder beside the targets first, then each name is
    swapped in, so re-exporting replaces the old files and never duplicates rows.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with closing(connect_read_only(db_path)) as connection:
        require_objects(connection, dataset, db_path, dict.fromkeys(view_names(), "view"))
        objects = dataset_objects(connection, dataset)
        names = [name for name in objects if not name.startswith(INTERNAL_PREFIXES)]
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
    relation = qualified(dataset, name)
    target = folder / export_name(name)
    if name != REPLICAS_TABLE:
        return copy_rows(connection, f"select * from {relation}", target, "")
    query = f"select *, {utc_day('observed_at')} as {PARTITION_COLUMN} from {relation}"
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
