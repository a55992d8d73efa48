"""Which storage a command uses: its flags, else the [storage] section, else the default file.

```toml
[storage]
lake = "postgres:dbname=ivs host=db.internal user=ivs_loader"   # or "sqlite:/srv/ivs/lake.sqlite"
lake_data = "/mnt/shared/ivs-lake"                              # or "s3://bucket/ivs-lake"
work_dir = "/var/lib/ivs-replicas/runner-a"                     # this runner's private folder
```

The same keys are read from `.dlt/secrets.toml` and from the environment (`STORAGE__LAKE`,
`STORAGE__LAKE_DATA`, `STORAGE__WORK_DIR`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivs_replicas.errors import BadInputError
from ivs_replicas.settings import DEFAULT_DATABASE
from ivs_replicas.storage.duckdb_file import DuckDbFile
from ivs_replicas.storage.ducklake import DuckLake

SECTION = "storage"


@dataclass(frozen=True)
class StorageOptions:
    """The storage flags of one command; None where not given."""

    db: Path | None = None
    lake: str | None = None
    lake_data: str | None = None
    work_dir: Path | None = None


def storage_for(options: StorageOptions) -> DuckDbFile | DuckLake:
    """The storage the flags name; without --db or --lake, the configured lake or the file."""
    if options.db is not None:
        if options.lake_data or options.work_dir:
            raise BadInputError("--lake-data and --work-dir belong to --lake, not to --db")
        return DuckDbFile(options.db.resolve())
    if options.lake is not None:
        return DuckLake(options.lake, options.lake_data, options.work_dir)
    configured = configured_value("lake")
    if configured is None:
        if options.lake_data or options.work_dir:
            raise BadInputError("--lake-data and --work-dir need --lake (or lake in [storage])")
        return DuckDbFile(Path(DEFAULT_DATABASE).resolve())
    work_dir = options.work_dir or configured_value("work_dir")
    return DuckLake(
        configured,
        options.lake_data or configured_value("lake_data"),
        Path(work_dir) if work_dir else None,
    )


def configured_value(key: str) -> Any:
    """One key of the [storage] section (config, secrets or environment), or None."""
    import dlt

    return dlt.config.get(f"{SECTION}.{key}", str)


def read_source(options: StorageOptions) -> Path | DuckLake:
    """What analysts' commands open: the file by its path (checked as it opens), or the lake."""
    storage = storage_for(options)
    return storage.path if isinstance(storage, DuckDbFile) else storage
