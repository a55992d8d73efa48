"""The fleet's scan threads and the row-bounded buffer between them and the loader."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from ivs_replicas.sources.ivs_realtime.fleet import Deadline, RowBoundedBuffer, scan_concurrently
from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.scan import ReplicaRow, ScanResult, unfinished

WAIT = 0.3


def participant(region: str, number: int) -> Participant:
    """A participant of a stage in `region`."""
    return Participant(f"arn:aws:ivs:{region}:123456789012:stage/Stage{number:07d}", f"p-{number}")


def result_with(target: Participant, rows: int) -> ScanResult:
    """A successful scan of `target` with `rows` replicas."""
    now = datetime.now(UTC)
    replica = ReplicaRow(target.source_stage_arn, target.participant_id, "s", "d", "ds", "ACTIVE")
    return ScanResult(target, "run", now, now, rows=[replica] * rows)


def put_in_thread(buffer: RowBoundedBuffer, item: object, rows: int) -> threading.Thread:
    """Start a producer putting one item; the caller checks whether it got in."""
    thread = threading.Thread(target=buffer.put, args=(item, rows), daemon=True)
    thread.start()
    return thread


def test_put_waits_while_the_rows_would_pass_the_bound() -> None:
    buffer = RowBoundedBuffer(max_rows=5)
    buffer.put("a", 3)
    producer = put_in_thread(buffer, "b", 3)
    producer.join(WAIT)
    assert producer.is_alive()
    assert buffer.rows == 3
    assert buffer.get() == "a"
    producer.join(WAIT)
    assert not producer.is_alive()
    assert (buffer.get(), buffer.rows) == ("b", 0)


def test_an_item_larger_than_the_bound_enters_an_empty_buffer() -> None:
    buffer = RowBoundedBuffer(max_rows=5)
    buffer.put("big", 50)
    assert (buffer.rows, buffer.get()) == (50, "big")


def test_close_releases_a_waiting_producer_and_drops_its_item() -> None:
    buffer = RowBoundedBuffer(max_rows=1)
    buffer.put("a", 1)
    producer = put_in_thread(buffer, "b", 1)
    buffer.close()
    producer.join(WAIT)
    assert not producer.is_alive()
    assert buffer.rows == 0


def test_every_participant_is_yielded_once_across_regions() -> None:
    fleet = [participant(region, n) for region in ("us-east-1", "eu-west-1") for n in range(40)]
    seen = [
        result.participant
        for result in scan_concurrently(fleet, lambda p: result_with(p, 7), 3, 20)
    ]
    assert sorted(seen, key=str) == sorted(fleet, key=str)


def test_buffered_rows_never_pass_the_bound_while_the_consumer_is_slow() -> None:
    fleet = [participant("us-east-1", n) for n in range(30)]
    high_water = 0
    buffers: list[RowBoundedBuffer] = []
    original_get = RowBoundedBuffer.get

    def watching_get(self: RowBoundedBuffer, timeout: float | None = None) -> object:
        nonlocal high_water
        buffers.append(self)
        high_water = max(high_water, self.rows)
        return original_get(self, timeout)

    RowBoundedBuffer.get = watching_get  # type: ignore[method-assign]
    try:
        for _ in scan_concurrently(fleet, lambda p: result_with(p, 9), 4, max_buffered_rows=25):
            threading.Event().wait(0.01)
    finally:
        RowBoundedBuffer.get = original_get  # type: ignore[method-assign]
    assert buffers
    assert 0 < high_water <= 25


def test_a_scan_error_reaches_the_consumer_and_the_workers_stop() -> None:
    def failing(target: Participant) -> ScanResult:
        if target.participant_id == "p-5":
            raise RuntimeError("scan broke")
        return result_with(target, 1)

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="scan broke"):
        list(scan_concurrently([participant("us-east-1", n) for n in range(20)], failing, 2, 3))
    assert threading.active_count() == before


def test_a_consumer_that_stops_early_leaves_no_worker_behind() -> None:
    fleet = [participant("us-east-1", n) for n in range(50)]
    before = threading.active_count()
    results = scan_concurrently(fleet, lambda p: result_with(p, 5), 4, max_buffered_rows=6)
    next(results)
    results.close()
    assert threading.active_count() == before


def test_at_the_deadline_unfinished_scans_fail_and_hung_workers_are_left_behind() -> None:
    fleet = [participant("us-east-1", n) for n in range(6)]
    hung = fleet[2]
    release = threading.Event()
    hung_worker: list[threading.Thread] = []

    def scan(target: Participant) -> ScanResult:
        if target == hung:
            hung_worker.append(threading.current_thread())
            release.wait(60)  # an endpoint that never answers
        return result_with(target, 1)

    results = list(
        scan_concurrently(
            fleet,
            scan,
            workers_per_region=2,
            max_buffered_rows=100,
            deadline=Deadline.after(0.5),
            unfinished=lambda p: unfinished(p, "run", "deadline passed"),
        )
    )
    try:
        statuses = {result.participant: (result.status, result.error_code) for result in results}
        assert len(results) == len(fleet), "one result per participant"
        assert statuses.pop(hung) == ("failed", "RunDeadlineExceeded")
        assert set(statuses.values()) <= {("ok", None), ("failed", "RunDeadlineExceeded")}
        assert ("ok", None) in statuses.values(), "scans finished before the deadline are kept"
        (worker,) = hung_worker
        assert worker.is_alive(), "the run did not wait for the hung scan"
        assert worker.daemon, "a hung scan cannot keep the process alive"
    finally:
        release.set()


def test_no_deadline_means_every_scan_finishes() -> None:
    assert Deadline.after(0).remaining() is None
    assert not Deadline.after(0).passed
    fleet = [participant("eu-west-1", n) for n in range(5)]
    results = scan_concurrently(fleet, lambda p: result_with(p, 1), 2, 10, Deadline.after(0))
    assert [result.status for result in results] == ["ok"] * 5
