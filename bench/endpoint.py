"""The local IVS Real-Time endpoint in its own process, so it never competes for our GIL."""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from ivs_realtime_emulator import Emulator, Faults, generate_scenario

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


@dataclass(frozen=True)
class Fleet:
    """A generated scenario: participants spread over regions, each with the same replicas."""

    participants: int
    replicas: int
    regions: tuple[str, ...] = REGIONS[:1]
    participants_per_stage: int = 10

    def scenario(self) -> Any:
        """The emulator scenario of this fleet."""
        return generate_scenario(
            self.participants,
            self.replicas,
            regions=self.regions,
            participants_per_stage=self.participants_per_stage,
        )

    def refs(self) -> list[dict[str, str]]:
        """`[{source_stage_arn, participant_id}]` of every participant."""
        return list(self.scenario().participant_refs())


@dataclass
class Traffic:
    """What the endpoint saw since its last reset: counters, arrival times, its CPU time."""

    snapshot: dict[str, Any]
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    throttle_times: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0

    @property
    def requests(self) -> int:
        """API requests received."""
        return int(self.snapshot["total_requests"])

    @property
    def throttled(self) -> int:
        """Requests answered with ThrottlingException."""
        return int(self.snapshot["throttled"])

    @property
    def first_request(self) -> float | None:
        """Arrival time of the first request, if any."""
        return min((times[0] for times in self.arrivals.values()), default=None)

    @property
    def span(self) -> float:
        """Seconds from the first to the last request received, over all regions."""
        first = self.first_request
        last = max((times[-1] for times in self.arrivals.values()), default=None)
        return last - first if first is not None and last is not None else float("nan")

    def throttled_after(self, seconds: float) -> int:
        """Throttled responses later than `seconds` after the first request."""
        first = self.first_request
        if first is None:
            return 0
        return sum(1 for at in self.throttle_times if at - first > seconds)

    def pacing(self, skip: int, rate: float) -> float:
        """Worst region's (last - request `skip`+1) arrival span over the ideal at `rate`."""
        ratios = [
            (times[-1] - times[skip]) * rate / (len(times) - 1 - skip)
            for times in self.arrivals.values()
            if len(times) > skip + 1
        ]
        return max(ratios, default=float("nan"))


class Endpoint:
    """A running emulator process: `.url`, `.traffic()` and `.reset()` (fresh quotas)."""

    def __init__(self, fleet: Fleet, faults: Faults | None = None) -> None:
        self.fleet, self.faults = fleet, faults or Faults()
        self._conn: Connection | None = None
        self._process: Any = None
        self.url = ""

    def __enter__(self) -> Endpoint:
        """Start the process and wait for its URL."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child, self.fleet, self.faults), name="ivs-bench-endpoint"
        )
        self._process.start()
        self.url = self._conn.recv()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the process."""
        self._ask("stop")
        self._process.join(timeout=30)

    def reset(self) -> None:
        """Clear counters and refill every quota bucket, as for a fresh endpoint."""
        self._ask("reset")

    def traffic(self) -> Traffic:
        """Counters and request times since the last reset."""
        return Traffic(**self._ask("traffic"))

    def _ask(self, command: str) -> Any:
        """Send one command and wait for the answer."""
        assert self._conn is not None
        self._conn.send(command)
        return self._conn.recv()


class _Clock:
    """Request and throttle times, recorded by wrapping the emulator's counters."""

    def __init__(self, emulator: Emulator) -> None:
        self._lock = threading.Lock()
        self.reset()
        stats = emulator.stats
        record, bump = stats.record, stats.bump

        def timed_record(operation: str, region: str | None, params: dict[str, Any]) -> None:
            """Note the arrival time of each request."""
            at = time.monotonic()
            with self._lock:
                self.arrivals.setdefault(region or "unknown", []).append(at)
            record(operation, region, params)

        def timed_bump(name: str, amount: int = 1) -> None:
            """Note the time of each throttled response."""
            if name == "throttled":
                with self._lock:
                    self.throttles.append(time.monotonic())
            bump(name, amount)

        stats.record = timed_record  # type: ignore[method-assign]
        stats.bump = timed_bump  # type: ignore[method-assign]

    def reset(self) -> None:
        """Forget every time."""
        with self._lock:
            self.arrivals: dict[str, list[float]] = {}
            self.throttles: list[float] = []
            self.cpu_start = time.process_time()

    def traffic(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The fields of a Traffic."""
        with self._lock:
            return {
                "snapshot": snapshot,
                "arrivals": {region: sorted(times) for region, times in self.arrivals.items()},
                "throttle_times": sorted(self.throttles),
                "cpu_seconds": time.process_time() - self.cpu_start,
            }


def serve(conn: Connection, fleet: Fleet, faults: Faults) -> None:
    """Child process: serve the fleet's scenario and answer commands until told to stop."""
    with Emulator(fleet.scenario(), faults=faults) as emulator:
        clock = _Clock(emulator)
        conn.send(emulator.url)
        while (command := conn.recv()) != "stop":
            if command == "reset":
                emulator.set_faults(faults)
                emulator.reset_stats()
                clock.reset()
                conn.send(None)
            elif command == "traffic":
                conn.send(clock.traffic(emulator.stats.snapshot()))
    conn.send(None)
