"""(d) History over synthetic years of hourly scans of 1,000 replicas (8.5M replica rows a year).

At each size (1x, 3x, 10x a year; `--quick`: a month): the history is generated in SQL, the
derived tables take it in a year of loads per maintenance (as a history grows; one maintenance
of ten years at once would spill most of its work to disk), then three more hourly runs are
appended and each taken in by `maintain` in a new connection, as a scheduled run does (the
per-run cost, median). Each view is then timed for `select count(*)`, for one participant's
rows and for one day's rows (median of `repeats`), and the database's bytes per observation
are reported, raw tables and derived tables apart (the raw bytes are counted before the three
appended runs, whose raw rows, 0.03 % of a year's, count as derived).
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
from harness import Figure, median, print_table, scratch_dir, timed
from ivs_replicas import synthetic_history
from ivs_replicas.warehouse import catalog, database, derived, views

DATASET = "ivs_realtime"
REPLICAS = 1000
YEAR = 8760
APPENDED_RUNS = 3
PARTICIPANT = "participant-7"
# Targets: per-run maintenance under 1 s at every size; every view under 1 s up to a year of
# history and under 5 s at ten years.
MAINTENANCE_TARGET = 1.0


def view_target(hours: int) -> float | None:
    """Seconds every view question should stay under at this size (None: no target)."""
    if hours <= YEAR:
        return 1.0
    return 5.0 if hours >= 10 * YEAR else None


def used_bytes(connection: duckdb.DuckDBPyConnection) -> int:
    """Bytes of the blocks the database file uses, after a checkpoint."""
    connection.execute("checkpoint")
    row = connection.execute("select used_blocks * block_size from pragma_database_size()")
    return int(row.fetchone()[0])  # type: ignore[index]


def derive_a_year_at_a_time(connection: duckdb.DuckDBPyConnection) -> float:
    """Fill the derived tables from the generated loads, a year of them per maintenance.

    Every load is marked incomplete, then each year's loads are marked complete and maintained.
    Returns the seconds of all the maintenances.
    """
    loads = f"{DATASET}._dlt_loads"
    load_ids = [
        load_id
        for (load_id,) in connection.execute(
            f"select load_id from {loads} order by load_id"
        ).fetchall()
    ]
    connection.execute(f"update {loads} set status = 1")
    seconds = 0.0
    for first in range(0, len(load_ids), YEAR):
        year = load_ids[first : first + YEAR]
        connection.execute(
            f"update {loads} set status = 0 where load_id between $first and $last",
            {"first": year[0], "last": year[-1]},
        )
        seconds += derived.maintain(connection, DATASET).seconds
    return seconds


def filters(view: str) -> dict[str, str]:
    """The typical questions on a view: everything, one participant, one day."""
    relation = catalog.find(view)
    columns = relation.column_names
    questions = {"count(*)": ""}
    if "participant_id" in columns:
        questions["one participant"] = f"where participant_id = '{PARTICIPANT}'"
    if relation.since == "day":
        questions["one day"] = "where day = date '2025-06-01'"
    elif relation.since is not None:
        questions["one day"] = (
            f"where {relation.since} >= timestamptz '2025-06-01 00:00:00+00' "
            f"and {relation.since} < timestamptz '2025-06-02 00:00:00+00'"
        )
    return questions


def view_timings(
    connection: duckdb.DuckDBPyConnection, view: str, repeats: int
) -> dict[str, float]:
    """Median seconds of each typical question on a view."""
    quoted = database.quote_identifier(view)
    return {
        name: median(
            [
                timed(
                    lambda where=where: connection.execute(
                        f"select count(*) from {quoted} {where}"
                    ).fetchone()
                )[0]
                for _ in range(repeats)
            ]
        )
        for name, where in filters(view).items()
    }


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A new connection to the bench's database, as each scheduled run opens its own."""
    connection = duckdb.connect(str(path))
    connection.execute("set enable_progress_bar = false")
    return connection


def append_run(path: Path, hour: int) -> float:
    """One more hourly run's rows, taken in by `maintain` in a new connection; its seconds."""
    with closing(connect(path)) as connection:
        synthetic_history.generate_history(connection, DATASET, REPLICAS, 1, start_hour=hour)
        return derived.maintain(connection, DATASET).seconds


def measure(hours: int, repeats: int) -> dict[str, Any]:
    """Generate, derive, append runs one by one, and time the views, at one size."""
    with scratch_dir("history") as directory:
        path = directory / "history.duckdb"
        with closing(connect(path)) as connection:
            generated, tables = timed(
                lambda: synthetic_history.generate_history(connection, DATASET, REPLICAS, hours)
            )
            raw_bytes = used_bytes(connection)
            views.apply_views(connection, DATASET)
            first = derive_a_year_at_a_time(connection)
        per_run = [append_run(path, hour) for hour in range(hours, hours + APPENDED_RUNS)]
        with closing(connect(path)) as connection:
            total_bytes = used_bytes(connection)
            observations = connection.execute(
                f"select count(*) from {DATASET}.derived_observations"
            ).fetchone()[0]  # type: ignore[index]
            with database.default_schema(connection, DATASET):
                timings = {
                    view: view_timings(connection, view, repeats) for view in catalog.view_names()
                }
        print(f"  (d) {hours:,} hours: done", flush=True)
    return {
        "hours": hours,
        "generated": generated,
        "tables": tables,
        "first": first,
        "per_run": per_run,
        "raw_bytes": raw_bytes,
        "derived_bytes": total_bytes - raw_bytes,
        "observations": observations,
        "timings": timings,
    }


def run(quick: bool, sizes: tuple[int, ...] = (1, 3, 10)) -> list[Figure]:
    """Figure (d)."""
    hour_counts = [720] if quick else [YEAR * size for size in sizes]
    print(f"(d) synthetic history: {REPLICAS:,} replicas x {hour_counts} hourly scans", flush=True)
    figures = []
    for hours in hour_counts:
        figures += report([measure(hours, 1 if quick else 3)])
    return figures


def report(results: list[dict[str, Any]]) -> list[Figure]:
    """Print the tables and return the summary figures."""
    figures = []
    for result in results:
        hours, observations = result["hours"], result["observations"]
        sizes = ", ".join(f"{table} {rows:,} rows" for table, rows in result["tables"].items())
        print(
            f"  {hours:,} hours generated in {result['generated']:.0f}s ({sizes}); derived "
            f"a year at a time in {result['first']:.1f}s; per run {median(result['per_run']):.2f}s; "
            f"bytes per observation: raw {result['raw_bytes'] / observations:.1f}, derived "
            f"{result['derived_bytes'] / observations:.1f}"
        )
        print_table(
            f"(d) views over {hours:,} hours (seconds, medians)",
            ["view", "count(*)", "one participant", "one day"],
            [
                [view]
                + [
                    f"{timing[name]:.3f}" if name in timing else "-"
                    for name in ("count(*)", "one participant", "one day")
                ]
                for view, timing in result["timings"].items()
            ],
        )
        slowest = max(
            (seconds, view, name)
            for view, timing in result["timings"].items()
            for name, seconds in timing.items()
        )
        per_run = median(result["per_run"])
        view_limit = view_target(hours)
        figures += [
            Figure(
                f"(d) {hours:,} hours: per-run maintenance",
                f"{per_run:.2f} s",
                f"< {MAINTENANCE_TARGET:g} s",
                per_run < MAINTENANCE_TARGET,
            ),
            Figure(
                f"(d) {hours:,} hours: slowest view question",
                f"{slowest[0]:.2f} s ({slowest[1]}, {slowest[2]})",
                f"< {view_limit:g} s" if view_limit else "-",
                slowest[0] < view_limit if view_limit else None,
            ),
        ]
    return figures
