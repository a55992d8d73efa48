"""Apply the views in sql/ to a dataset, creating first any loaded table they read.

The loaded tables' columns come from the source's own Arrow schemas (the ones dlt loads), so
a column added to the source reaches the tables created here without a second definition.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ivs_replicas.sources.ivs_realtime.settings import (
    DISCOVERY_SCANS_TABLE,
    REPLICAS_TABLE,
    SCANS_TABLE,
)
from ivs_replicas.sources.ivs_realtime.tables import (
    DISCOVERY_SCHEMAS,
    REPLICAS_SCHEMA,
    SCANS_SCHEMA,
)
from ivs_replicas.warehouse.catalog import catalogue, view_files, view_names
from ivs_replicas.warehouse.database import (
    dataset_objects,
    default_schema,
    qualified,
    quote_identifier,
)
from ivs_replicas.warehouse.derived import create_derived_tables, transaction

EVENTS_TABLE = "participant_events"
# dlt's column on every loaded row: the load package, which the views match to _dlt_loads.
LOAD_ID = pa.field("_dlt_load_id", pa.string())
# The tables the views read, with their columns as loaded.
SOURCE_SCHEMAS = {
    REPLICAS_TABLE: REPLICAS_SCHEMA.append(LOAD_ID),
    SCANS_TABLE: SCANS_SCHEMA.append(LOAD_ID),
    EVENTS_TABLE: DISCOVERY_SCHEMAS[EVENTS_TABLE].append(LOAD_ID),
    # What discovery found: not read by a view, but there (and documented) before it runs.
    **{
        table: DISCOVERY_SCHEMAS[table].append(LOAD_ID)
        for table in ("stages", "stage_sessions", "participants")
    },
    # Not read by a view, but there for `report` even before discovery first runs.
    DISCOVERY_SCANS_TABLE: DISCOVERY_SCHEMAS[DISCOVERY_SCANS_TABLE].append(LOAD_ID),
    # dlt's own ledger of load packages; the views read load_id and status (0: completed).
    "_dlt_loads": pa.schema([pa.field("load_id", pa.string()), pa.field("status", pa.int64())]),
}


def duckdb_columns(connection: duckdb.DuckDBPyConnection, schema: pa.Schema) -> dict[str, str]:
    """Each column of an Arrow schema with its DuckDB type, as DuckDB itself reads Arrow."""
    relation = connection.from_arrow(schema.empty_table())
    return {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}


def create_source_tables(connection: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Create the dataset schema, and any missing source table or column the views read."""
    connection.execute(f"create schema if not exists {quote_identifier(dataset)}")
    for table, schema in SOURCE_SCHEMAS.items():
        name = qualified(dataset, table)
        columns = duckdb_columns(connection, schema)
        definition = ", ".join(f"{quote_identifier(c)} {kind}" for c, kind in columns.items())
        connection.execute(f"create table if not exists {name} ({definition})")
        for column, kind in columns.items():
            connection.execute(
                f"alter table {name} add column if not exists {quote_identifier(column)} {kind}"
            )


def apply_views(connection: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Create or replace every view in the dataset schema, in one transaction; return names.

    Missing source tables are created empty first, and the derived tables the views read
    (sql/derived/; filled by `maintain`), so the views always bind. The files name tables
    unqualified; they run with the dataset as the default schema, as by hand with
    `duckdb FILE -c "use DATASET" -c ".read sql/NNN_view.sql"`.
    """
    create_source_tables(connection, dataset)
    with default_schema(connection, dataset), transaction(connection):
        create_derived_tables(connection)
        for path in view_files():
            connection.execute(path.read_text(encoding="utf-8"))
        attach_comments(connection)
    return view_names()


def attach_comments(connection: duckdb.DuckDBPyConnection) -> None:
    """Attach sql/schema.yml's descriptions as comments, which DBeaver and duckdb_columns() show.

    A DuckLake takes comments on tables, views and table columns, but not on view columns:
    those are left out there.
    """
    row = connection.execute(
        "select type from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    view_columns = not (row and row[0] == "ducklake")
    existing = set(dataset_objects(connection))
    for relation in catalogue().values():
        if relation.name not in existing:
            continue
        kind = "view" if relation.kind == "view" else "table"
        text = f"{relation.grain}. {relation.description}".strip()
        connection.execute(
            f"comment on {kind} {quote_identifier(relation.name)} is {sql_literal(text)}"
        )
        if kind == "view" and not view_columns:
            continue
        for column in relation.columns:
            connection.execute(
                f"comment on column {quote_identifier(relation.name)}."
                f"{quote_identifier(column.name)} is {sql_literal(column.description)}"
            )


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
