"""DuckDB's extensions for a DuckLake, loaded from the packages that `ivs-replicas[lake]` installs.

The `duckdb-ext-*` packages put the signed extension files in
`site-packages/duckdb_ext/extensions/v<duckdb version>/<platform>/`. Pointing DuckDB's
`extension_directory` there, with automatic installs off, makes `ATTACH 'ducklake:...'` load
ducklake and its catalog's extension from disk: no download at run time. Without those
packages DuckDB keeps its defaults and downloads the extensions itself when it is online.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import duckdb


@cache
def extension_directory() -> str | None:
    """The folder of the installed extension packages that fit this DuckDB, or None."""
    try:
        import duckdb_ext  # a namespace package: one folder per installed duckdb-ext-* package
    except ImportError:
        return None
    for base in duckdb_ext.__path__:
        folder = Path(base) / "extensions"
        if (folder / f"v{duckdb.__version__}").is_dir():
            return str(folder)
    return None


def offline_config() -> dict[str, Any]:
    """DuckDB settings that load the installed extensions; empty keeps DuckDB's defaults."""
    folder = extension_directory()
    if folder is None:
        return {}
    return {"extension_directory": folder, "autoinstall_known_extensions": False}


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that attaches a lake with the installed extensions."""
    return duckdb.connect(config=offline_config())
