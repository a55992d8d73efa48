"""(a) Overhead: rows per second with no latency and no quota, against two naive references."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import references
from endpoint import Endpoint, Fleet
from harness import Figure, median, print_table, scratch_dir, spread, timed
from ivs_realtime_emulator import Faults
from ours import STEPS, run_pipeline

Variant = Callable[[str, list[dict[str, str]], Path], int]
DIAGNOSTIC_LATENCY_MS = 20.0


@dataclass
class Samples:
    """Timings of one variant over the repeats."""

    label: str
    run: Variant
    reference: bool = True
    rows: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    endpoint_cpu: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rates(self) -> list[float]:
        """Rows per second of each repeat."""
        return [rows / seconds for rows, seconds in zip(self.rows, self.seconds, strict=True)]


def ours(steps: dict[str, list[float]], **options: Any) -> Variant:
    """The project's runner with the client-side quota off; step times go to `steps`."""

    def run(url: str, refs: list[dict[str, str]], database: Path) -> int:
        """One run of runner.run."""
        outcome = run_pipeline(database, url, refs, requests_per_second=0, **options)
        if outcome.summary.tally.participants_failed:
            raise RuntimeError(f"{outcome.summary.tally.participants_failed} participants failed")
        for name, seconds in {**outcome.steps, "other": outcome.other_seconds}.items():
            steps.setdefault(name, []).append(seconds)
        return outcome.rows

    return run


def pinned_to_one_cpu(run: Variant) -> Variant:
    """A variant whose threads all run on one CPU, so the GIL never changes CPU."""

    def pinned(url: str, refs: list[dict[str, str]], database: Path) -> int:
        """Run with this thread, and the threads it starts, on the first allowed CPU."""
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(allowed)})
        try:
            return run(url, refs, database)
        finally:
            os.sched_setaffinity(0, allowed)

    return pinned


def variants() -> list[Samples]:
    """Ours, (a1) serial boto3 + pandas, (a2) plain dlt pipeline, and two diagnostics."""
    steps: dict[str, list[float]] = {}
    samples = [
        Samples("ivs-replicas runner.run", ours(steps), reference=False, steps=steps),
        Samples("(a1) serial boto3 + pandas", references.pandas_loop),
        Samples("(a2) plain dlt pipeline", references.dlt_pipeline),
        Samples(
            "diagnostic: ours, workers_per_region=2",
            ours({}, workers_per_region=2),
            reference=False,
        ),
    ]
    if hasattr(os, "sched_setaffinity"):
        samples.append(
            Samples(
                "diagnostic: ours, threads on one CPU",
                pinned_to_one_cpu(ours({})),
                reference=False,
            )
        )
    return samples


def measure_once(sample: Samples, endpoint: Endpoint, refs: list[dict[str, str]]) -> None:
    """One timed run of a variant against a reset endpoint, into a fresh database."""
    endpoint.reset()
    with scratch_dir("overhead") as directory:
        cpu_before = time.process_time()
        seconds, rows = timed(lambda: sample.run(endpoint.url, refs, directory / "bench.duckdb"))
        sample.cpu.append(time.process_time() - cpu_before)
    sample.rows.append(rows)
    sample.seconds.append(seconds)
    sample.endpoint_cpu.append(endpoint.traffic().cpu_seconds)


def measure(
    endpoint: Endpoint, refs: list[dict[str, str]], repeats: int, samples: list[Samples]
) -> list[Samples]:
    """Run every variant `repeats` times, rotating the order so drift hits all alike."""
    for sample in samples:  # warm-up on a few participants: imports, first connections
        with scratch_dir("warmup") as directory:
            sample.run(endpoint.url, refs[:20], directory / "warmup.duckdb")
    for repeat in range(repeats):
        shift = repeat % len(samples)
        for sample in samples[shift:] + samples[:shift]:
            measure_once(sample, endpoint, refs)
            print(
                f"  (a) repeat {repeat + 1}: {sample.label}: {sample.rows[-1]} rows in "
                f"{sample.seconds[-1]:.1f}s ({sample.cpu[-1]:.1f}s CPU)",
                flush=True,
            )
    return samples


def report(samples: list[Samples]) -> list[Figure]:
    """Print the table of variants and return the summary figures."""
    ours_rate = median(samples[0].rates)
    ours_cpu = median(samples[0].cpu)
    rows = [
        [
            sample.label,
            f"{sample.rows[0]:,}",
            f"{median(sample.seconds):.1f}",
            f"{median(sample.rates):,.0f}",
            spread(sample.rates),
            f"{ours_rate / median(sample.rates):.2f}",
            f"{median(sample.cpu):.1f}",
            f"{median(sample.cpu) / ours_cpu:.2f}",
            f"{median(sample.endpoint_cpu):.1f}",
        ]
        for sample in samples
    ]
    print_table(
        "(a) overhead: no latency, no quota (medians; CPU is this process, all threads)",
        [
            "variant",
            "rows",
            "wall s",
            "rows/s",
            "rows/s min-max",
            "ours/this rows/s",
            "CPU s",
            "CPU / ours",
            "endpoint CPU s",
        ],
        rows,
    )
    steps = samples[0].steps
    print(
        "  ours by step (median s): "
        + ", ".join(f"{name} {median(steps.get(name, [])):.2f}" for name in (*STEPS, "other"))
    )
    return [Figure("(a) ivs-replicas rows/s", f"{ours_rate:,.0f}")] + [
        Figure(
            f"(a) ours / {sample.label}, rows/s" if sample.reference else f"(a) {sample.label}",
            f"{ours_rate / median(sample.rates):.2f}"
            if sample.reference
            else f"{median(sample.rates):,.0f} rows/s",
            ">= 1.00" if sample.reference else "-",
            ours_rate >= median(sample.rates) if sample.reference else None,
        )
        for sample in samples[1:]
    ]


def latency_diagnostic(quick: bool) -> list[Figure]:
    """Ours against (a1) when each call takes 20 ms: where concurrency pays for its threads."""
    fleet = Fleet(participants=100 if quick else 400, replicas=150)
    print(
        f"(a) diagnostic: {fleet.participants} participants x {fleet.replicas} replicas, "
        f"{DIAGNOSTIC_LATENCY_MS:g} ms latency, no quota, one run of each",
        flush=True,
    )
    samples = [
        Samples("ivs-replicas runner.run", ours({}), reference=False),
        Samples("(a1) serial boto3 + pandas", references.pandas_loop),
    ]
    with Endpoint(fleet, Faults(latency_ms=DIAGNOSTIC_LATENCY_MS)) as endpoint:
        measure(endpoint, fleet.refs(), 1, samples)
    ratio = median(samples[0].rates) / median(samples[1].rates)
    print(
        f"  with {DIAGNOSTIC_LATENCY_MS:g} ms latency: ours {median(samples[0].rates):,.0f} rows/s, "
        f"(a1) {median(samples[1].rates):,.0f} rows/s, ratio {ratio:.2f}"
    )
    return [
        Figure(
            f"(a) diagnostic, {DIAGNOSTIC_LATENCY_MS:g} ms latency: ours / (a1), rows/s",
            f"{ratio:.2f}",
        )
    ]


def run(quick: bool) -> list[Figure]:
    """Figure (a), then the latency diagnostic."""
    fleet = Fleet(participants=300 if quick else 2000, replicas=150)
    repeats = 1 if quick else 3
    print(
        f"(a) {fleet.participants} participants x {fleet.replicas} replicas, "
        f"{repeats} repeat(s) of each variant",
        flush=True,
    )
    with Endpoint(fleet) as endpoint:
        figures = report(measure(endpoint, fleet.refs(), repeats, variants()))
    return figures + latency_diagnostic(quick)
