"""One DuckDB file for analysts, published whole after each run from the writer's own store.

The writer never opens the analysts' file. It loads into `working.duckdb` in the work folder
beside it, and at the end of a successful run copies that store to a temporary file next to
the analysts' file and renames it over the old one. A reader that holds the old file keeps
reading it; the next one opens the new file. A kill at any moment leaves one whole file there.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from ivs_replicas.errors import BadInputError

T = TypeVar("T")

WORKING_NAME = "ivs_replicas_working.duckdb"
PUBLISHING_PREFIX = ".publishing-"
# The tables a file made by ivs-replicas always has, in its dataset schema.
OWN_TABLES = ("participant_scans", "_dlt_loads")


@dataclass(frozen=True)
class Published:
    """What one publication cost."""

    bytes: int
    seconds: float


@dataclass(frozen=True)
class DuckDbFile:
    """The analysts' DuckDB file at `path` and the writer's work folder beside it."""

    path: Path

    @property
    def work_dir(self) -> Path:
        """`<db>.dlt/`: the working store, dlt's pipeline folders and the run lock."""
        return self.path.parent / f"{self.path.name}.dlt"

    @property
    def working_database(self) -> Path:
        """The writer's own DuckDB file: dlt loads here and the views are applied here."""
        return self.work_dir / WORKING_NAME

    @property
    def lock_path(self) -> Path:
        """The lock one run holds from start to finish."""
        return self.work_dir / "run.lock"

    def pipelines_dir(self, dataset: str) -> Path:
        """dlt's working folder of one dataset, so a pending package resumes into its own."""
        return self.work_dir / "datasets" / dataset

    def describe(self) -> str:
        """The analysts' file, as the run summary names it."""
        return str(self.path)

    def reserved_names(self) -> set[str]:
        """The catalog names of both files: their stems."""
        return {Path(self.path.name).stem, Path(WORKING_NAME).stem}

    def destination(self) -> Any:
        """dlt's DuckDB destination on the working store."""
        from ivs_replicas.pipeline import duckdb_destination

        return duckdb_destination(self.working_database)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-write connection to the working store."""
        return duckdb.connect(str(self.working_database))

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        """The analysts' file, read-only."""
        return duckdb.connect(str(self.path), read_only=True)

    def write(self, step: Callable[[], T]) -> T:
        """Run a step: the run lock already keeps every other writer out of the working store."""
        return step()

    def prepare(self) -> None:
        """Make the work folder; adopt an analysts' file made before the working store existed."""
        self.work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.work_dir, 0o700)
        for leftover in self.path.parent.glob(f"{PUBLISHING_PREFIX}{self.path.name}*"):
            leftover.unlink(missing_ok=True)
        if self.working_database.exists() or not self.path.exists():
            return
        check_made_by_us(self.path)
        copy_whole(self.path, self.working_database)

    def publish(self) -> Published:
        """Replace the analysts' file with a copy of the working store, atomically."""
        started = time.monotonic()
        checkpoint(self.working_database)
        staged = self.path.parent / f"{PUBLISHING_PREFIX}{self.path.name}-{os.getpid()}"
        try:
            copy_whole(self.working_database, staged)
            os.replace(staged, self.path)
        finally:
            staged.unlink(missing_ok=True)
        sync_folder(self.path.parent)
        return Published(self.path.stat().st_size, time.monotonic() - started)


def check_made_by_us(path: Path) -> None:
    """Refuse to take over a file that is not a DuckDB database made by ivs-replicas."""
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            tables = {
                name
                for (name,) in connection.execute(
                    "select table_name from information_schema.tables"
                ).fetchall()
            }
    except duckdb.Error as error:
        raise BadInputError(f"--db {path} is not a DuckDB database: {error}") from None
    if not set(OWN_TABLES) <= tables:
        raise BadInputError(
            f"--db {path} is a DuckDB database that ivs-replicas did not make; "
            "it is left as it is: choose another --db"
        )


def checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file, so the file alone is the whole database."""
    with duckdb.connect(str(database)) as connection:
        connection.execute("checkpoint")


def copy_whole(source: Path, target: Path) -> None:
    """Copy a file and flush it to disk before anyone can see it under its final name."""
    shutil.copyfile(source, target)
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Make a rename in the folder durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
