"""(f) Storage: what publishing the analysts' file costs as history grows, and a run into a lake.

Part 1 fills a writer's working store with a synthetic history of 1,000 replicas scanned
hourly (synthetic_history.generate_history, then the views), for histories from a week to a
year, and times `DuckDbFile.publish()` (checkpoint, copy, fsync, rename) `repeats` times.

Part 2 makes the same runs against the local endpoint into a new DuckDB file and into a new
local SQLite-catalog DuckLake, one after the other per round, and compares the median run
times of the runs after the first (the first also creates the store).

Usage: .venv/bin/python bench/storage.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import duckdb
from harness import (
    Figure,
    credentials,
    machine_lines,
    median,
    offline_environment,
    print_table,
    scratch_dir,
    spread,
    timed,
)
from ivs_realtime_emulator import Emulator, generate_scenario
from ivs_replicas import runner, synthetic_history
from ivs_replicas.storage import DuckDbFile, DuckLake
from ivs_replicas.warehouse import apply_views

DATASET = "ivs_realtime"
REPLICAS = 1000
# Histories, in hours of hourly scans: a week, a month, a quarter, half a year, a year.
HOURS = (168, 720, 2190, 4380, 8760)
QUICK_HOURS = (168, 720)


def publish_timings(directory: Path, hours: int, repeats: int) -> dict[str, Any]:
    """Size of the published file and seconds of each publication, for one history size."""
    store = DuckDbFile(directory / f"history-{hours}.duckdb")
    store.prepare()
    with duckdb.connect(str(store.working_database)) as connection:
        tables = synthetic_history.generate_history(connection, DATASET, REPLICAS, hours)
        apply_views(connection, DATASET)
    seconds = [store.publish().seconds for _ in range(repeats)]
    size = store.path.stat().st_size
    store.path.unlink()
    store.working_database.unlink()
    return {"hours": hours, "rows": sum(tables.values()), "bytes": size, "seconds": seconds}


def run_timings(directory: Path, rounds: int) -> dict[str, list[float]]:
    """Seconds of `rounds` runs into a DuckDB file and into a SQLite-catalog lake, alternating."""
    scenario = generate_scenario(participants=100, replicas_per_participant=10)
    stores: dict[str, DuckDbFile | DuckLake] = {
        "file": DuckDbFile(directory / "runs.duckdb"),
        "lake": DuckLake(f"sqlite:{directory / 'lake.sqlite'}", work_folder=directory / "work"),
    }
    seconds: dict[str, list[float]] = {name: [] for name in stores}
    emulator = Emulator(scenario).start()
    try:
        for _ in range(rounds):
            for name, store in stores.items():
                elapsed, summary = timed(
                    lambda store=store: runner.run(  # type: ignore[misc]
                        store,
                        credentials=credentials(),
                        endpoint_url=emulator.url,
                        participants=scenario.participant_refs(),
                        requests_per_second=0,
                    )
                )
                assert summary.exit_code == 0
                seconds[name].append(elapsed)
    finally:
        emulator.stop()
    return seconds


def run(quick: bool) -> list[Figure]:
    """Figure (f)."""
    hours, repeats, rounds = (QUICK_HOURS, 1, 2) if quick else (HOURS, 3, 4)
    print(f"(f) publishing the analysts' file: {REPLICAS:,} replicas, histories {hours} hours")
    with scratch_dir("storage") as directory:
        publishing = []
        for size in hours:
            publishing.append(publish_timings(directory, size, repeats))
            print(f"  (f) publish {size} hours: done", flush=True)
        runs = run_timings(directory, rounds)
    return report(publishing, runs)


def report(publishing: list[dict[str, Any]], runs: dict[str, list[float]]) -> list[Figure]:
    """Print the tables; return the summary figures."""
    print_table(
        "(f) DuckDbFile.publish() against history size (median of repeats)",
        ["history", "rows", "file MB", "publish s", "spread s", "MB/s"],
        [
            [
                f"{item['hours']:,} h ({item['hours'] / 24:,.0f} days)",
                f"{item['rows']:,}",
                f"{item['bytes'] / 1e6:,.0f}",
                f"{median(item['seconds']):.2f}",
                spread(item["seconds"]),
                f"{item['bytes'] / 1e6 / median(item['seconds']):,.0f}",
            ]
            for item in publishing
        ],
    )
    steady = {name: seconds[1:] or seconds for name, seconds in runs.items()}
    ratio = median(steady["lake"]) / median(steady["file"])
    print_table(
        "(f) one run of 100 participants x 10 replicas (runs after the first; median)",
        ["store", "first run s", "later runs s", "spread s"],
        [
            [name, f"{seconds[0]:.1f}", f"{median(steady[name]):.1f}", spread(steady[name])]
            for name, seconds in runs.items()
        ],
    )
    largest = publishing[-1]
    return [
        Figure(
            f"(f) publish the file, {largest['hours']:,} h of history",
            f"{median(largest['seconds']):.2f} s for {largest['bytes'] / 1e6:,.0f} MB",
        ),
        Figure(
            "(f) a run into a local SQLite-catalog lake / into the file",
            f"{ratio:.2f}x ({median(steady['lake']):.1f} s vs {median(steady['file']):.1f} s)",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run figure (f) alone and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster variant")
    quick = parser.parse_args(argv).quick
    offline_environment()
    print("machine\n  " + "\n  ".join(machine_lines()), flush=True)
    figures = run(quick)
    print_table("summary", ["figure", "value"], [[f.name, f.value] for f in figures])
    return 0


if __name__ == "__main__":
    sys.exit(main())
