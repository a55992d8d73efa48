"""The catalogue: the view files in sql/, and each table's and view's metadata in sql/schema.yml.

schema.yml is the one home of what the SQL cannot say itself: each table's and view's grain,
the column `report --since` filters on, the order `report` prints rows in, and what every
column holds. The README's data dictionary is generated from it (see `dictionary`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from ivs_replicas.errors import BadInputError

SQL_FILE = re.compile(r"^\d+_(?P<name>[a-z][a-z0-9_]*)\.sql$")
METADATA_FILE = "schema.yml"
Kind = Literal["table", "view"]


@dataclass(frozen=True)
class Column:
    """One column of a table or view, as documented."""

    name: str
    description: str


@dataclass(frozen=True)
class Relation:
    """One loaded table or view: its grain, report settings and documented columns."""

    name: str
    kind: Kind
    grain: str
    description: str
    since: str | None
    order_by: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        """The documented columns' names, in order."""
        return [column.name for column in self.columns]


def sql_dir() -> Path:
    """The folder of view files, shipped with the package as `ivs_replicas.sql`."""
    return Path(str(resources.files("ivs_replicas.sql")))


def sql_files(folder: Path) -> list[Path]:
    """The NNN_name.sql files of a folder, in the order they run."""
    return sorted(path for path in folder.glob("*.sql") if SQL_FILE.match(path.name))


def sql_name(path: Path) -> str:
    """What a file makes: its name without the order prefix and the extension."""
    match = SQL_FILE.match(path.name)
    if match is None:
        raise BadInputError(f"{path} is not named like NNN_name.sql")
    return match["name"]


def view_files() -> list[Path]:
    """The view files, in the order they are applied."""
    return sql_files(sql_dir())


def view_names() -> list[str]:
    """The names of the views, in the order they are applied."""
    return [sql_name(path) for path in view_files()]


@cache
def catalogue() -> dict[str, Relation]:
    """Every documented table, then every view, by name, as sql/schema.yml lists them."""
    document = yaml.safe_load((sql_dir() / METADATA_FILE).read_text(encoding="utf-8"))
    tables = [relation(entry, "table") for entry in document["tables"]]
    views = [relation(entry, "view") for entry in document["views"]]
    return {entry.name: entry for entry in tables + views}


def relation(entry: dict[str, Any], kind: Kind) -> Relation:
    """One schema.yml entry as a Relation."""
    return Relation(
        name=entry["name"],
        kind=kind,
        grain=" ".join(entry["grain"].split()),
        description=" ".join(entry.get("description", "").split()),
        since=entry["since"],
        order_by=tuple(entry["order_by"]),
        columns=tuple(
            Column(column["name"], " ".join(column["description"].split()))
            for column in entry["columns"]
        ),
    )


def find(name: str) -> Relation:
    """The documented table or view of that name; bad input naming the choices otherwise."""
    known = catalogue()
    if name not in known:
        raise BadInputError(f"unknown view or table {name!r}; choose one of: {', '.join(known)}")
    return known[name]
