"""Scan many participants concurrently: a worker group per (account, region), results streamed."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.scan import ScanResult

_DONE = object()
_TIMED_OUT = object()


@dataclass(frozen=True)
class Deadline:
    """When a run's API work must end, on the monotonic clock; `at` None means never."""

    at: float | None = None

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline `seconds` from now; 0 means no deadline."""
        return cls(time.monotonic() + seconds if seconds > 0 else None)

    def remaining(self) -> float | None:
        """Seconds left (0 once passed), or None without a deadline."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        """Whether the deadline has come."""
        return self.at is not None and time.monotonic() >= self.at


def group_by_quota(participants: Sequence[Participant]) -> dict[tuple[str, str], list[Participant]]:
    """Participants grouped by (account, region), the scope of one quota."""
    ordered = sorted(participants, key=lambda p: (p.account_id, p.region))
    return {
        key: list(group) for key, group in groupby(ordered, key=lambda p: (p.account_id, p.region))
    }


def scan_concurrently(
    participants: Sequence[Participant],
    scan: Callable[[Participant], ScanResult],
    workers_per_region: int,
    max_buffered_rows: int,
    deadline: Deadline = Deadline(),
    unfinished: Callable[[Participant], ScanResult] | None = None,
) -> Iterator[ScanResult]:
    """Yield a ScanResult per participant as scans finish; regions run side by side.

    Each (account, region) gets its own workers, so one region's quota never idles
    another's. Finished scans wait in a buffer of at most `max_buffered_rows` rows (or one
    scan, if a single scan is larger), so memory stays flat for any fleet size.

    When the deadline passes, every participant without a finished scan gets
    `unfinished(participant)` instead, at once: scans still in flight are abandoned to their
    (daemon) threads, whose results are dropped.
    """
    results = RowBoundedBuffer(max_buffered_rows)
    stop = threading.Event()
    threads = [
        threading.Thread(target=_work, args=(work, scan, results, stop), daemon=True)
        for group in group_by_quota(participants).values()
        for work in [_SharedIterator(group)]
        for _ in range(max(1, min(workers_per_region, len(group))))
    ]
    for thread in threads:
        thread.start()
    waiting = set(participants)
    finished = 0
    try:
        while finished < len(threads):
            if deadline.passed:
                stop.set()  # no new scans; those already finished are still yielded
            item = results.get(deadline.remaining())
            if item is _TIMED_OUT:
                break
            if item is _DONE:
                finished += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                waiting.discard(item.participant)  # type: ignore[attr-defined]
                yield item  # type: ignore[misc]
        stop.set()
        results.close()
        if unfinished is not None:
            yield from (unfinished(participant) for participant in sorted(waiting))
    finally:
        stop.set()
        results.close()
        if not deadline.passed:
            for thread in threads:
                thread.join()


class RowBoundedBuffer:
    """A thread-safe FIFO holding at most `max_rows` rows, or one item of any size.

    `put` blocks while the item would push the buffer past `max_rows`; an item is always
    admitted into an empty buffer, so a scan larger than the bound still gets through.
    After `close`, `put` drops items instead of blocking.
    """

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.rows = 0
        self._items: deque[tuple[object, int]] = deque()
        self._closed = False
        self._changed = threading.Condition()

    def put(self, item: object, rows: int = 0) -> None:
        """Add an item weighing `rows`, waiting for room."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or not self._items or self.rows + rows <= self.max_rows
            )
            if self._closed:
                return
            self._items.append((item, rows))
            self.rows += rows
            self._changed.notify_all()

    def get(self, timeout: float | None = None) -> object:
        """Remove and return the oldest item, waiting for one at most `timeout` seconds.

        Returns the `_TIMED_OUT` marker when none came in time.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._items), timeout):
                return _TIMED_OUT
            item, rows = self._items.popleft()
            self.rows -= rows
            self._changed.notify_all()
            return item

    def close(self) -> None:
        """Stop accepting items and wake every waiting producer."""
        with self._changed:
            self._closed = True
            self._items.clear()
            self.rows = 0
            self._changed.notify_all()


class _SharedIterator:
    """A thread-safe iterator over one group's participants."""

    def __init__(self, items: list[Participant]) -> None:
        self._items = iter(items)
        self._lock = threading.Lock()

    def next(self) -> Participant | None:
        """The next participant, or None when the group is done."""
        with self._lock:
            return next(self._items, None)


def _work(
    work: _SharedIterator,
    scan: Callable[[Participant], ScanResult],
    results: RowBoundedBuffer,
    stop: threading.Event,
) -> None:
    """Scan participants until the group is exhausted or the run stops."""
    try:
        while not stop.is_set() and (participant := work.next()) is not None:
            result = scan(participant)
            results.put(result, result.held_rows)
    except BaseException as error:
        results.put(error)
    finally:
        results.put(_DONE)
