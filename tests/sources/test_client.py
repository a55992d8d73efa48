"""The client-side rate limiter paces calls to the quota."""

from __future__ import annotations

import threading

import pytest
from ivs_replicas.sources.ivs_realtime import client as client_module
from ivs_replicas.sources.ivs_realtime.client import RateLimiter


class FakeClock:
    """A monotonic clock that sleep advances, so pacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(client_module.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(client_module.time, "sleep", fake.sleep)
    return fake


def test_burst_then_paced_at_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=5.0)
    waits = [limiter.acquire() for _ in range(15)]
    assert waits[:5] == [0.0] * 5
    assert clock.now == pytest.approx(10 / 5.0)


def test_tokens_refill_after_idle(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=5.0)
    for _ in range(5):
        limiter.acquire()
    clock.now += 10
    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5


def test_zero_rate_means_unlimited(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=0)
    assert sum(limiter.acquire() for _ in range(100)) == 0
