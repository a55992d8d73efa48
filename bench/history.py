"""(d) History views over a synthetic year of hourly scans (about 8.8M replica rows).

Each view is first materialized once (`create temp table as select * from view`: every row
and column computed and stored; this also warms the cache), then counted `repeats` times
(`select count(*) from view`, median reported). A diagnostic then stores
replica_observations as a table and times the views again on top of it, to show how much of
each view's time is spent recomputing that one view.
"""

from __future__ import annotations

from typing import Any

import duckdb
from harness import Figure, median, print_table, scratch_dir, spread, timed
from ivs_replicas import synthetic_history
from ivs_replicas.warehouse import catalog, database, views

DATASET = "ivs_realtime"
STORED = "bench_stored"
SHARED_VIEW = "replica_observations"


def counted(
    connection: duckdb.DuckDBPyConnection, view: str, repeats: int
) -> tuple[list[float], int]:
    """Seconds of `select count(*)` on a view, `repeats` times, and the count."""
    sql = f"select count(*) from {database.quote_identifier(view)}"
    results = [timed(lambda: connection.execute(sql).fetchone()) for _ in range(repeats)]
    return [seconds for seconds, _ in results], int(results[-1][1][0])  # type: ignore[index]


def view_timings(connection: duckdb.DuckDBPyConnection, view: str, repeats: int) -> dict[str, Any]:
    """Rows of a view, seconds to materialize it once, and seconds of `repeats` counts."""
    sql = f"create or replace temp table bench_materialized as select * from {view}"
    materialize, _ = timed(lambda: connection.execute(sql))
    rows = connection.execute("select count(*) from bench_materialized").fetchone()[0]  # type: ignore[index]
    connection.execute("drop table bench_materialized")
    return {
        "rows": rows,
        "materialize": materialize,
        "count": counted(connection, view, repeats)[0],
    }


def build(connection: duckdb.DuckDBPyConnection, hours: int) -> tuple[float, dict[str, int]]:
    """Fill the source tables with a synthetic history and apply the views."""
    seconds, tables = timed(
        lambda: synthetic_history.generate_history(connection, DATASET, replicas=1000, hours=hours)
    )
    views.apply_views(connection, DATASET)
    return seconds, tables


def base_tables(connection: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The tables (not views) of a schema."""
    rows = connection.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE'",
        [schema],
    ).fetchall()
    return [row[0] for row in rows]


def apply_with_stored_view(connection: duckdb.DuckDBPyConnection) -> float:
    """Build the views in a scratch schema with the shared view stored as a table; seconds to store it."""
    quote = database.quote_identifier
    connection.execute(f"create schema if not exists {STORED}")
    for table in base_tables(connection, DATASET):
        connection.execute(
            f"create or replace view {STORED}.{quote(table)} as "
            f"select * from {quote(DATASET)}.{quote(table)}"
        )
    stored = 0.0
    with database.default_schema(connection, STORED):
        for path in catalog.view_files():
            if catalog.sql_name(path) != SHARED_VIEW:
                connection.execute(path.read_text(encoding="utf-8"))
                continue
            sql = f"create table {SHARED_VIEW} as select * from {quote(DATASET)}.{SHARED_VIEW}"
            stored, _ = timed(lambda sql=sql: connection.execute(sql))
    return stored


def stored_diagnostic(
    connection: duckdb.DuckDBPyConnection,
) -> tuple[float, dict[str, tuple[float, int]]]:
    """Seconds to store the shared view, and one count (seconds, rows) of each other view."""
    if SHARED_VIEW not in catalog.view_names():
        return float("nan"), {}
    stored = apply_with_stored_view(connection)
    counts = {}
    with database.default_schema(connection, STORED):
        for view in catalog.view_names():
            if view != SHARED_VIEW:
                seconds, rows = counted(connection, view, 1)
                counts[view] = (seconds[0], rows)
    return stored, counts


def run(quick: bool) -> list[Figure]:
    """Figure (d)."""
    hours, repeats = (720, 1) if quick else (8760, 3)
    print(
        f"(d) synthetic history: 1,000 replicas x {hours:,} hourly scans; per view one "
        f"materialization, then count(*) {repeats} time(s)",
        flush=True,
    )
    with scratch_dir("history") as directory:
        connection = duckdb.connect(str(directory / "history.duckdb"))
        try:
            generated, tables = build(connection, hours)
            with database.default_schema(connection, DATASET):
                timings = {}
                for view in catalog.view_names():
                    timings[view] = view_timings(connection, view, repeats)
                    print(f"  (d) {view}: done", flush=True)
            diagnostic = stored_diagnostic(connection)
        finally:
            connection.close()
    return report(hours, generated, tables, timings, diagnostic)


def report(
    hours: int,
    generated: float,
    tables: dict[str, int],
    timings: dict[str, dict[str, Any]],
    diagnostic: tuple[float, dict[str, tuple[float, int]]],
) -> list[Figure]:
    """Print the table of views and return the summary figures."""
    stored, on_stored = diagnostic
    sizes = ", ".join(f"{table} {rows:,} rows" for table, rows in tables.items())
    print(f"  generated in {generated:.1f}s: {sizes}")
    print_table(
        f"(d) history views over {hours:,} hours (seconds; count(*) is a median)",
        ["view", "rows", "materialize s", "count(*) s", "min-max", "count(*) s, stored"],
        [
            [
                view,
                f"{timing['rows']:,}",
                f"{timing['materialize']:.2f}",
                f"{median(timing['count']):.2f}",
                spread(timing["count"]),
                stored_cell(on_stored.get(view), timing["rows"]),
            ]
            for view, timing in timings.items()
        ],
    )
    print(
        f"  diagnostic: storing {SHARED_VIEW} as a table took {stored:.1f}s; the last column "
        "counts each view on top of that table (one run)"
    )
    return [
        Figure(
            f"(d) {view}: count(*) / materialize",
            f"{median(timing['count']):.2f} s / {timing['materialize']:.2f} s",
        )
        for view, timing in timings.items()
    ] + [
        Figure(
            f"(d) diagnostic: all views counted, {SHARED_VIEW} stored",
            f"{stored + sum(seconds for seconds, _ in on_stored.values()):.1f} s (vs "
            f"{sum(median(t['count']) for t in timings.values()):.1f} s as views)",
        )
    ]


def stored_cell(measured: tuple[float, int] | None, rows: int) -> str:
    """Seconds of a count on the stored variant, flagged when its rows differ from the view's."""
    if measured is None:
        return "-"
    seconds, stored_rows = measured
    return (
        f"{seconds:.2f}" if stored_rows == rows else f"{seconds:.2f} (rows differ: {stored_rows:,})"
    )
