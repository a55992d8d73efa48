"""boto3 clients per (account, region): retries, timeouts, rate limits and call counts, in one place."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from pipelines.ivs_realtime.settings import SERVICE_NAME


class RateLimiter:
    """Thread-safe token bucket: at most `rate` acquisitions per second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; return the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)
        return wait


@dataclass
class CallStats:
    """Counters of API traffic, shared by every client of a run."""

    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    quota_wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, counter: Counter[str], operation: str) -> None:
        """Add one to a per-operation counter."""
        with self._lock:
            counter[operation] += 1

    def add_wait(self, seconds: float) -> None:
        """Add seconds spent waiting on the client-side quota."""
        with self._lock:
            self.quota_wait_seconds += seconds

    @property
    def retries(self) -> int:
        """HTTP attempts beyond the first of each call."""
        return sum(self.attempts.values()) - sum(self.calls.values())


@dataclass(frozen=True)
class ClientSettings:
    """How clients connect, retry and pace themselves."""

    endpoint_url: str | None = None
    requests_per_second: float = 5.0
    max_attempts: int = 8
    retry_mode: str = "standard"
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_pool_connections: int = 10


class ApiClients:
    """Builds and caches one boto3 client per (account, region), each paced by its own limiters."""

    def __init__(self, session_factory: Callable[[], boto3.Session], settings: ClientSettings) -> None:
        self._session_factory = session_factory
        self.settings = settings
        self.stats = CallStats()
        self._clients: dict[tuple[str, str], Any] = {}
        self._limiters: dict[tuple[str, str, str], RateLimiter] = {}
        self._lock = threading.Lock()

    def client(self, account_id: str, region: str) -> Any:
        """The ivs-realtime client for one account and region, created once."""
        key = (account_id, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(account_id, region)
            return self._clients[key]

    def limiter(self, account_id: str, region: str, operation: str) -> RateLimiter:
        """The rate limiter of one (account, region, operation)."""
        key = (account_id, region, operation)
        with self._lock:
            if key not in self._limiters:
                self._limiters[key] = RateLimiter(self.settings.requests_per_second)
            return self._limiters[key]

    def _build(self, account_id: str, region: str) -> Any:
        """Create a client whose every HTTP attempt first takes a token from its limiter."""
        settings = self.settings
        config = Config(
            region_name=region,
            retries={"mode": settings.retry_mode, "max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_pool_connections=settings.max_pool_connections,
            user_agent_extra="ivs-replicas",
        )
        client = self._session_factory().client(
            SERVICE_NAME, region_name=region, endpoint_url=settings.endpoint_url, config=config
        )
        events = client.meta.events
        events.register("before-call.ivs-realtime.*", self._on_call)
        events.register(
            "before-send.ivs-realtime.*",
            lambda event_name, **_: self._on_attempt(account_id, region, event_name.split(".")[-1]),
        )
        events.register("needs-retry.ivs-realtime.*", self._on_response)
        return client

    def _on_call(self, model: Any, **_: Any) -> None:
        """Count one API call (before retries)."""
        self.stats.count(self.stats.calls, model.name)

    def _on_attempt(self, account_id: str, region: str, operation: str) -> None:
        """Pace one HTTP attempt, retries included, by its (account, region, operation) quota."""
        self.stats.count(self.stats.attempts, operation)
        waited = self.limiter(account_id, region, operation).acquire()
        if waited:
            self.stats.add_wait(waited)

    def _on_response(self, response: Any, operation: Any, **_: Any) -> None:
        """Count throttled responses."""
        if response and response[1].get("Error", {}).get("Code") == "ThrottlingException":
            self.stats.count(self.stats.throttled, operation.name)
