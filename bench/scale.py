"""(c) Scale: a million replica rows in one run, measured in a child process of its own.

The child reads its own peak resident set (VmHWM in /proc/self/status) when the run is done,
so the figure covers the run alone: not the endpoint (another process) nor earlier sections.
Besides the defaults, two diagnostic runs show how the peak follows `batch_rows`, which sizes
both the Arrow batches and the buffer of finished scans.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from endpoint import Endpoint, Fleet
from harness import Figure, print_table, proc_status_mb, scratch_dir

LIMIT_MB = 500.0


@dataclass(frozen=True)
class Variant:
    """Source options of one measured run."""

    label: str
    options: dict[str, Any] = field(default_factory=dict)


VARIANTS = (
    Variant("defaults"),
    Variant("diagnostic: batch_rows=2000", options={"batch_rows": 2000}),
    Variant("diagnostic: batch_rows=20000", options={"batch_rows": 20_000}),
)


def measure_in_child(conn: Connection, url: str, fleet: Fleet, variant: Variant) -> None:
    """Child process: one runner.run over the fleet; send back time, rows and memory."""
    from ours import run_pipeline

    refs = fleet.refs()
    before_run = proc_status_mb("VmRSS")
    with scratch_dir("scale") as directory:
        outcome = run_pipeline(
            directory / "bench.duckdb", url, refs, requests_per_second=0, **variant.options
        )
        database_mb = (directory / "bench.duckdb").stat().st_size / 2**20
    conn.send(
        {
            "seconds": outcome.summary.elapsed_seconds,
            "rows": outcome.rows,
            "failed": outcome.summary.tally.participants_failed,
            "steps": {**outcome.steps, "other": outcome.other_seconds},
            "rss_before_run_mb": before_run,
            "peak_rss_mb": proc_status_mb("VmHWM"),
            "database_mb": database_mb,
        }
    )


def measure(endpoint: Endpoint, fleet: Fleet, variant: Variant) -> dict[str, Any]:
    """Run one variant in a fresh child process and return what it measured."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=measure_in_child, args=(sender, endpoint.url, fleet, variant))
    child.start()
    result: dict[str, Any] = receiver.recv()
    child.join()
    print(
        f"  (c) {variant.label}: {result['rows']:,} rows in {result['seconds']:.1f}s, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB",
        flush=True,
    )
    return result


def report(fleet: Fleet, results: dict[str, dict[str, Any]]) -> list[Figure]:
    """Print the table and return the summary figures."""
    print_table(
        f"(c) scale: {fleet.participants:,} participants x {fleet.replicas} replicas, one run each",
        ["variant", "rows", "wall s", "rows/s", "by step s", "RSS at start MB", "peak RSS MB"],
        [
            [
                label,
                f"{result['rows']:,}",
                f"{result['seconds']:.1f}",
                f"{result['rows'] / result['seconds']:,.0f}",
                ", ".join(f"{name} {seconds:.1f}" for name, seconds in result["steps"].items()),
                f"{result['rss_before_run_mb']:.0f}",
                f"{result['peak_rss_mb']:.0f}",
            ]
            for label, result in results.items()
        ],
    )
    result = results[VARIANTS[0].label]
    peak = result["peak_rss_mb"]
    figures = [
        Figure(
            f"(c) peak RSS, {result['rows']:,} rows",
            f"{peak:.0f} MB",
            f"< {LIMIT_MB:.0f} MB",
            peak < LIMIT_MB,
        ),
        Figure("(c) wall time", f"{result['seconds']:.1f} s"),
        Figure("(c) rows/s", f"{result['rows'] / result['seconds']:,.0f}"),
        Figure("(c) participants failed", str(result["failed"]), "0", result["failed"] == 0),
    ]
    return figures + [
        Figure(f"(c) {label}: peak RSS", f"{other['peak_rss_mb']:.0f} MB")
        for label, other in results.items()
        if label != VARIANTS[0].label
    ]


def run(quick: bool) -> list[Figure]:
    """Figure (c)."""
    fleet = Fleet(participants=2_000 if quick else 20_000, replicas=50)
    print(
        f"(c) {fleet.participants:,} participants x {fleet.replicas} replicas "
        f"= {fleet.participants * fleet.replicas:,} rows per run, each run in a child process",
        flush=True,
    )
    with Endpoint(fleet) as endpoint:
        results = {variant.label: measure(endpoint, fleet, variant) for variant in VARIANTS}
    return report(fleet, results)
