"""Where runs write and what analysts open: one DuckDB file (the default), or a DuckLake.

A storage gives a run its dlt destination, its private work folder (run lock and dlt's
pipeline folders, one per dataset), a read-write connection for applying the views, the
turn-taking and retries around the steps that write, and a step after a successful run that
makes the run visible to analysts. It gives analysts a read-only connection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb

from ivs_replicas.errors import BadInputError
from ivs_replicas.storage.duckdb_file import DuckDbFile, Published
from ivs_replicas.storage.ducklake import DuckLake

T = TypeVar("T")


class Storage(Protocol):
    """What a run needs of the place it loads into."""

    def describe(self) -> str:
        """The place, as the summary and error messages name it."""
        ...

    @property
    def lock_path(self) -> Path:
        """The lock one run holds from start to finish."""
        ...

    def pipelines_dir(self, dataset: str) -> Path:
        """dlt's working folder of one dataset."""
        ...

    def reserved_names(self) -> set[str]:
        """Catalog names a dataset may not take (DuckDB would find the name ambiguous)."""
        ...

    def prepare(self) -> None:
        """Make the work folder private and the store ready for a run."""
        ...

    def destination(self) -> Any:
        """The dlt destination a run loads into."""
        ...

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-write connection whose default catalog holds the datasets."""
        ...

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        """A connection for analysts: the datasets in its default catalog, nothing writable."""
        ...

    def write(self, step: Callable[[], T]) -> T:
        """Run one step that writes into the store, in its turn and again after a conflict."""
        ...

    def publish(self) -> Published | None:
        """Make a successful run visible to analysts (nothing to do where commits are)."""
        ...


def check_dataset_name(dataset: str, storage: Storage) -> str:
    """Refuse a dataset name that dlt would change, or that DuckDB would find ambiguous."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    stored_as = NamingConvention().normalize_identifier(dataset)
    if stored_as != dataset:
        raise BadInputError(
            f"--dataset {dataset!r}: dataset names are lowercase letters, digits and _ "
            f"(it would be stored as {stored_as!r}); pass --dataset {stored_as}"
        )
    if dataset in storage.reserved_names():
        raise BadInputError(
            f"--dataset {dataset!r} is also the name of the database "
            f"({storage.describe()}), which DuckDB cannot tell apart: choose another"
        )
    return dataset


__all__ = ["DuckDbFile", "DuckLake", "Published", "Storage", "check_dataset_name"]
