"""What `ivs-replicas report` prints: one table or view in report order, or the overview."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime

import duckdb
import pandas as pd

from ivs_replicas.errors import BadInputError
from ivs_replicas.warehouse.catalog import Relation, find, sql_dir, sql_files, sql_name
from ivs_replicas.warehouse.database import (
    Database,
    as_utc,
    connect_read_only,
    default_schema,
    qualified,
    require_objects,
)

# The overview's SQL, one statement per file, run in order with the dataset as default schema:
# each select is a frame, named like its file; other statements (a `set variable`) prepare them.
OVERVIEW_DIR = "overview"


def since_filter(relation: Relation) -> str:
    """The condition --since applies to a table or view, with one parameter."""
    if relation.since is None:
        raise BadInputError(
            f"--since does not apply to {relation.name}: it has no timestamp column"
        )
    if relation.since == "day":
        return "day >= timezone('UTC', ?::timestamptz)::date"
    return f"{relation.since} >= ?::timestamptz"


def query_view(
    db_path: Database, dataset: str, name: str, since: datetime | None = None
) -> pd.DataFrame:
    """Rows of one view or loaded table, in report order; `since` keeps rows from then on."""
    relation = find(name)
    sql = f"select * from {qualified(dataset, name)}"
    parameters: list[object] = []
    if since is not None:
        sql += f" where {since_filter(relation)}"
        parameters.append(as_utc(since))
    sql += f" order by {', '.join(relation.order_by)}"
    with closing(connect_read_only(db_path)) as connection:
        require_objects(connection, dataset, db_path, {name: relation.kind})
        return connection.execute(sql, parameters).df()


def overview_statements() -> dict[str, str]:
    """Each overview file's name and SQL, from sql/overview/NNN_name.sql, in order."""
    return {
        sql_name(path): path.read_text(encoding="utf-8")
        for path in sql_files(sql_dir() / OVERVIEW_DIR)
    }


def is_select(sql: str) -> bool:
    """Whether a file's statement is a query, whose rows are a frame."""
    return all(statement.type.name == "SELECT" for statement in duckdb.extract_statements(sql))


def overview(db_path: Database, dataset: str) -> dict[str, pd.DataFrame]:
    """The default report: current replicas by state, latest run's changes, scan health."""
    statements = overview_statements()
    read = sorted(set().union(*(duckdb.get_table_names(sql) for sql in statements.values())))
    frames = {}
    with closing(connect_read_only(db_path)) as connection:
        require_objects(connection, dataset, db_path, dict.fromkeys(read, "view"))
        with default_schema(connection, dataset):
            for name, sql in statements.items():
                result = connection.execute(sql)
                if is_select(sql):
                    frames[name] = result.df()
    return frames
