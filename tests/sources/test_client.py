"""Clients follow the settings; the client-side rate limiter paces calls to the quota."""

from __future__ import annotations

import threading

import boto3
import pytest
from ivs_replicas.sources.ivs_realtime import client as client_module
from ivs_replicas.sources.ivs_realtime.client import ApiClients, CallStats, RateLimiter
from ivs_replicas.sources.ivs_realtime.config import IvsRealtimeConfiguration


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


def test_clients_take_retries_timeouts_and_pool_from_the_settings() -> None:
    config = IvsRealtimeConfiguration(
        retry_mode="adaptive",
        max_attempts=3,
        connect_timeout=2.0,
        read_timeout=7.0,
        workers_per_region=20,
        endpoint_url="http://127.0.0.1:9",
    )
    session = boto3.Session(aws_access_key_id="AKIATEST", aws_secret_access_key="test")
    clients = ApiClients(lambda _account: session, config, CallStats())
    client = clients.client(None, "eu-west-1")
    assert client is clients.client(None, "eu-west-1")
    botocore_config = client.meta.config
    assert botocore_config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert (botocore_config.connect_timeout, botocore_config.read_timeout) == (2.0, 7.0)
    assert botocore_config.max_pool_connections == 40
    assert (client.meta.region_name, client.meta.endpoint_url) == (
        "eu-west-1",
        "http://127.0.0.1:9",
    )
