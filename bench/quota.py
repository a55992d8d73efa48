"""(b) Quota-bound: a server-side quota of 5 TPS per region and 40 ms latency, three regions.

Ideal = calls per region / 5 TPS, regions side by side. The endpoint's token bucket starts
full (5 tokens), so a client that spends that burst can finish in (calls - 5) / 5 s plus one
latency: that lower bound is printed too. To judge pacing apart from the burst, "pacing" is
the worst region's arrival span from its 6th request to its last, over (calls - 6) / 5 s.
The endpoint is reset (buckets refilled, counters cleared) before every run, so every run
meets the same full bucket. Lead-in is the start of a run to its first request; tail, the last
request to the end of the run (the rest of extract, normalize, load and views for ours).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import references
from endpoint import REGIONS, Endpoint, Fleet, Traffic
from harness import Figure, median, print_table, scratch_dir
from ivs_realtime_emulator import Faults
from ours import run_pipeline

RATE = 5.0
LATENCY_MS = 40.0
BURST = 5  # the emulator's bucket capacity defaults to the rate


@dataclass
class Run:
    """One measured run: start and end (monotonic), what the endpoint saw, participants lost."""

    started: float
    ended: float
    traffic: Traffic
    lost: int

    @property
    def seconds(self) -> float:
        """Wall seconds of the run."""
        return self.ended - self.started

    @property
    def lead_in(self) -> float:
        """Seconds from the start of the run to its first request."""
        first = self.traffic.first_request
        return first - self.started if first is not None else float("nan")

    @property
    def tail(self) -> float:
        """Seconds from the last request to the end of the run."""
        return self.seconds - self.lead_in - self.traffic.span


@dataclass
class Samples:
    """Runs of one variant."""

    label: str
    scan: Callable[[str, list[dict[str, str]]], int]
    runs: list[Run] = field(default_factory=list)

    def median_of(self, value: Callable[[Run], float]) -> float:
        """Median of one measure over the runs."""
        return median([value(run) for run in self.runs])


def ours(url: str, refs: list[dict[str, str]]) -> int:
    """runner.run with the default client-side quota (5 TPS per region); failed participants."""
    with scratch_dir("quota") as directory:
        outcome = run_pipeline(directory / "bench.duckdb", url, refs, requests_per_second=RATE)
    return outcome.summary.tally.participants_failed


def naive(url: str, refs: list[dict[str, str]]) -> int:
    """The serial paginator loop with boto3's default retries; participants lost."""
    return references.serial_scan(url, refs)[1]


def measure(endpoint: Endpoint, refs: list[dict[str, str]], repeats: int) -> list[Samples]:
    """Run both variants `repeats` times, alternating which goes first."""
    samples = [Samples("ivs-replicas runner.run", ours), Samples("(b) serial boto3 loop", naive)]
    ours(endpoint.url, refs[:3])  # warm-up: imports and first client, off the clock
    for repeat in range(repeats):
        for sample in samples if repeat % 2 == 0 else samples[::-1]:
            endpoint.reset()
            started = time.monotonic()
            lost = sample.scan(endpoint.url, refs)
            run = Run(started, time.monotonic(), endpoint.traffic(), lost)
            sample.runs.append(run)
            print(
                f"  (b) repeat {repeat + 1}: {sample.label}: {run.seconds:.1f}s, "
                f"{run.traffic.throttled} throttled, {lost} lost",
                flush=True,
            )
    return samples


def report(samples: list[Samples], calls: int) -> list[Figure]:
    """Print the table and return the summary figures."""
    ideal = calls / RATE
    bound = (calls - BURST) / RATE + LATENCY_MS / 1000
    rows = [
        [
            sample.label,
            f"{sample.median_of(lambda r: r.seconds):.1f}",
            f"{sample.median_of(lambda r: r.lead_in):.2f}",
            f"{sample.median_of(lambda r: r.traffic.span):.1f}",
            f"{sample.median_of(lambda r: r.tail):.2f}",
            f"{sample.median_of(lambda r: r.seconds) / ideal:.3f}",
            f"{sample.median_of(lambda r: r.seconds) / bound:.3f}",
            f"{sample.median_of(lambda r: r.traffic.pacing(BURST, RATE)):.3f}",
            f"{sample.median_of(lambda r: r.traffic.throttled):.0f}",
            f"{sample.median_of(lambda r: r.traffic.throttled_after(BURST / RATE)):.0f}",
            f"{sample.median_of(lambda r: r.lost):.0f}",
        ]
        for sample in samples
    ]
    print_table(
        f"(b) quota-bound: {len(REGIONS)} regions x {calls} calls, {RATE:g} TPS per region, "
        f"{LATENCY_MS:g} ms; ideal {ideal:.1f}s, burst-credited bound {bound:.2f}s",
        [
            "variant",
            "wall s",
            "lead-in s",
            "api span s",
            "tail s",
            "wall/ideal",
            "wall/bound",
            "pacing",
            "throttled",
            "throttled >1s",
            "lost",
        ],
        rows,
    )
    return figures(samples[0], samples[1], ideal)


def figures(ours_samples: Samples, naive_samples: Samples, ideal: float) -> list[Figure]:
    """Summary figures of ours, with the naive loop's for comparison."""
    ratio = ours_samples.median_of(lambda r: r.seconds) / ideal
    steady = ours_samples.median_of(lambda r: r.traffic.throttled_after(BURST / RATE))
    lost = ours_samples.median_of(lambda r: r.lost)
    naive_ratio = naive_samples.median_of(lambda r: r.seconds) / ideal
    return [
        Figure("(b) wall / ideal, end to end", f"{ratio:.3f}", "<= 1.10", ratio <= 1.10),
        Figure(
            "(b) pacing after the burst",
            f"{ours_samples.median_of(lambda r: r.traffic.pacing(BURST, RATE)):.3f}",
        ),
        Figure("(b) throttled after the first second", f"{steady:.0f}", "0", steady == 0),
        Figure(
            "(b) throttled, all", f"{ours_samples.median_of(lambda r: r.traffic.throttled):.0f}"
        ),
        Figure("(b) participants lost", f"{lost:.0f}", "0", lost == 0),
        Figure("(b) naive serial loop: wall / ideal", f"{naive_ratio:.3f}"),
        Figure(
            "(b) naive serial loop: throttled",
            f"{naive_samples.median_of(lambda r: r.traffic.throttled):.0f}",
        ),
        Figure(
            "(b) naive serial loop: participants lost",
            f"{naive_samples.median_of(lambda r: r.lost):.0f}",
        ),
    ]


def run(quick: bool) -> list[Figure]:
    """Figure (b)."""
    per_region = 25 if quick else 100
    fleet = Fleet(
        participants=per_region * len(REGIONS),
        replicas=20,
        regions=REGIONS,
        participants_per_stage=5,
    )
    repeats = 1 if quick else 3
    faults = Faults(requests_per_second=RATE, latency_ms=LATENCY_MS)
    print(
        f"(b) {fleet.participants} participants in {len(REGIONS)} regions, 1 page each, "
        f"{repeats} repeat(s) of each variant",
        flush=True,
    )
    with Endpoint(fleet, faults) as endpoint:
        refs = fleet.refs()
        calls = max(Counter(references.region_of(ref) for ref in refs).values())
        return report(measure(endpoint, refs, repeats), calls)
