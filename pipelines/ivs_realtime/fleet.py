"""Scan many participants concurrently: a worker group per (account, region), results streamed."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby

from pipelines.ivs_realtime.participants import Participant
from pipelines.ivs_realtime.scan import ScanResult

_DONE = object()


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
    max_buffered: int = 256,
) -> Iterator[ScanResult]:
    """Yield a ScanResult per participant as scans finish; regions run side by side.

    Each (account, region) gets its own workers, so one region's quota never idles
    another's. The result queue is bounded, so memory stays flat for any fleet size.
    """
    results: queue.Queue[object] = queue.Queue(maxsize=max_buffered)
    stop = threading.Event()
    threads = [
        threading.Thread(target=_work, args=(work, scan, results, stop), daemon=True)
        for group in group_by_quota(participants).values()
        for work in [_SharedIterator(group)]
        for _ in range(max(1, min(workers_per_region, len(group))))
    ]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < len(threads):
            item = results.get()
            if item is _DONE:
                finished += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item  # type: ignore[misc]
    finally:
        stop.set()
        _drain(results, threads)


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
    results: queue.Queue[object],
    stop: threading.Event,
) -> None:
    """Scan participants until the group is exhausted or the run stops."""
    try:
        while not stop.is_set() and (participant := work.next()) is not None:
            results.put(scan(participant))
    except BaseException as error:
        results.put(error)
    finally:
        results.put(_DONE)


def _drain(results: queue.Queue[object], threads: list[threading.Thread]) -> None:
    """Unblock workers after the consumer stops early, then wait for them."""
    while any(thread.is_alive() for thread in threads):
        try:
            results.get(timeout=0.05)
        except queue.Empty:
            continue
