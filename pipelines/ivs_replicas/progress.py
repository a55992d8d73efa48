"""A run's progress while it scans: live bars on a terminal, a short line now and then elsewhere.

It observes the run's RunTally from a thread of its own, a few times a second: the source only
counts, and knows nothing of this module. The command line wires it (`run --quiet` leaves it
out); rich draws the bars.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ivs_replicas.sources.ivs_realtime.tally import QuotaTally, RunTally

logger = logging.getLogger(__name__)

# Seconds between two progress lines when the stream is not a terminal.
LINE_INTERVAL = 10.0
# Seconds between two reads of the tally for the live bars.
LIVE_PERIOD = 0.25

QuotaKey = tuple[str, str]


@dataclass(frozen=True)
class Reading:
    """The tally at one moment, as a progress display shows it."""

    elapsed: float
    calls: int
    quotas: dict[QuotaKey, QuotaTally]
    throttled: dict[QuotaKey, int]

    @property
    def planned(self) -> int:
        """Participants to scan, every (account, region) together."""
        return sum(share.participants for share in self.quotas.values())

    @property
    def scanned(self) -> int:
        """Participants scanned so far, ok or failed."""
        return sum(share.scanned for share in self.quotas.values())

    @property
    def failed(self) -> int:
        """Participants whose scan failed so far."""
        return sum(share.failed for share in self.quotas.values())

    @property
    def replicas(self) -> int:
        """Replicas seen so far."""
        return sum(share.replicas for share in self.quotas.values())


def read(tally: RunTally, started: float) -> Reading:
    """Read the tally now; `started` is when the run began, on the monotonic clock."""
    throttled: dict[QuotaKey, int] = {}
    for (account, region), count in list(tally.calls.throttled_by_quota.items()):
        key = (account or "", region)
        throttled[key] = throttled.get(key, 0) + count
    return Reading(
        elapsed=time.monotonic() - started,
        calls=sum(list(tally.calls.calls.values())),
        quotas=tally.progress(),
        throttled=throttled,
    )


def seconds_left(share: QuotaTally, scanning_for: float) -> float | None:
    """Time left for one (account, region) at its pace so far; None before its first scan."""
    if share.scanned == 0 or scanning_for <= 0:
        return None
    return (share.participants - share.scanned) * scanning_for / share.scanned


def clock(seconds: float) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour on."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Display:
    """Reads the tally on a thread of its own every `period` seconds, until stopped."""

    period = LINE_INTERVAL

    def __init__(self, tally: RunTally, stream: TextIO) -> None:
        self.tally = tally
        self.stream = stream
        self.started = time.monotonic()
        self.scanning_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def start(self) -> None:
        """Begin showing progress."""
        self._thread.start()

    def stop(self) -> None:
        """Stop showing progress, leaving the last state on screen where there is one."""
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        """Show a reading every period; a display that fails stops, never the run it watches."""
        while not self._stop.wait(self.period):
            try:
                self.show(self.reading())
            except Exception as error:
                logger.warning("progress display stopped: %s", error, exc_info=True)
                return

    def reading(self) -> Reading:
        """The tally now, noting when scans began (when the participants became known)."""
        reading = read(self.tally, self.started)
        if self.scanning_since is None and reading.planned:
            self.scanning_since = reading.elapsed
        return reading

    def scanning_for(self, reading: Reading) -> float:
        """Seconds since the participants became known."""
        since = reading.elapsed if self.scanning_since is None else self.scanning_since
        return reading.elapsed - since

    def show(self, reading: Reading) -> None:
        """Show one reading."""
        raise NotImplementedError


class ProgressLines(Display):
    """One short line every `interval` seconds, for logs and pipes."""

    def __init__(self, tally: RunTally, stream: TextIO, interval: float = LINE_INTERVAL) -> None:
        super().__init__(tally, stream)
        self.period = interval

    def show(self, reading: Reading) -> None:
        """Print where the run is, with the time left at each region's pace."""
        print(self.line(reading), file=self.stream, flush=True)

    def line(self, reading: Reading) -> str:
        """`progress 0:12 scanned 340/1,000 participants, 0 failed, ..., about 0:25 left`."""
        head = f"progress {clock(reading.elapsed)}"
        if not reading.calls and not reading.planned:
            return f"{head} starting"
        if not reading.planned:
            calls = f"{reading.calls:,} API call{'s' if reading.calls != 1 else ''}"
            return f"{head} finding participants ({calls} so far)"
        text = (
            f"{head} scanned {reading.scanned:,}/{reading.planned:,} participants, "
            f"{reading.failed:,} failed, {reading.replicas:,} replicas, "
            f"{sum(reading.throttled.values()):,} throttled"
        )
        if reading.scanned >= reading.planned:
            return f"{text}; loading"
        scanning_for = self.scanning_for(reading)
        left = [seconds_left(share, scanning_for) for share in reading.quotas.values()]
        known = [seconds for seconds in left if seconds is not None]
        # Regions scan side by side: the run takes as long as its slowest one.
        return f"{text}, about {clock(max(known))} left" if known else text


class ProgressBars(Display):
    """A live bar per (account, region), drawn by rich on a terminal."""

    period = LIVE_PERIOD

    def __init__(self, tally: RunTally, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        super().__init__(tally, stream)
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[replicas]:,} replicas"),
            TextColumn("{task.fields[throttled]:,} throttled"),
            TimeRemainingColumn(compact=True),
            TextColumn("left"),
            console=Console(file=stream),
            redirect_stdout=False,
            redirect_stderr=False,
            refresh_per_second=4,
        )
        self.tasks: dict[QuotaKey, Any] = {}
        self.finding: Any = self.bars.add_task(
            "finding participants", total=None, replicas=0, throttled=0
        )

    def start(self) -> None:
        """Draw the bars, then keep them up to date."""
        self.bars.start()
        super().start()

    def stop(self) -> None:
        """Update the bars a last time and leave them on screen."""
        super().stop()
        self.show(self.reading())
        self.bars.stop()

    def show(self, reading: Reading) -> None:
        """Move each (account, region)'s bar to the reading."""
        if reading.quotas and self.finding is not None:
            self.bars.remove_task(self.finding)
            self.finding = None
        for key, share in sorted(reading.quotas.items()):
            if key not in self.tasks:
                account, region = key
                self.tasks[key] = self.bars.add_task(
                    f"{region} {account}", total=share.participants, replicas=0, throttled=0
                )
            self.bars.update(
                self.tasks[key],
                total=share.participants,
                completed=share.scanned,
                replicas=share.replicas,
                throttled=reading.throttled.get(key, 0),
            )


@contextmanager
def shown(tally: RunTally, stream: TextIO, interval: float = LINE_INTERVAL) -> Iterator[None]:
    """Show the run's progress on `stream` while the block runs.

    Live bars when `stream` is a terminal, else a line every `interval` seconds.
    """
    display = (
        ProgressBars(tally, stream) if stream.isatty() else ProgressLines(tally, stream, interval)
    )
    display.start()
    try:
        yield
    finally:
        display.stop()
