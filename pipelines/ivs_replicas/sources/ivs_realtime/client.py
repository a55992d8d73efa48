"""boto3 clients per (account, region): retries, timeouts, rate limits and call counts."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from ivs_replicas.sources.ivs_realtime.scan import keep_replicas_as_sent
from ivs_replicas.sources.ivs_realtime.settings import LIST_REPLICAS_OPERATION, SERVICE_NAME

if TYPE_CHECKING:
    from ivs_replicas.sources.ivs_realtime.config import IvsRealtimeConfiguration

# Errors of a call that never got an answer from the endpoint.
CONNECTION_ERROR_CODES = frozenset(
    {
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ProxyConnectionError",
    }
)

# Error codes worth scanning a participant again for, once botocore's own retries gave up.
# An unreadable page is not among them: it is read again as a page (paging.READS_PER_PAGE).
TRANSIENT_ERROR_CODES = CONNECTION_ERROR_CODES | {
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalServerException",
    "ServiceUnavailableException",
    "InternalFailure",
    "ServiceUnavailable",
}

THROTTLING_ERROR_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
)


class RateLimiter:
    """Thread-safe token bucket at `rate` per second that slows down when throttled.

    A throttled answer halves the pace; it then climbs back to `rate` over about 20 seconds.
    """

    RECOVERY_SECONDS = 20.0
    SLOWEST_SHARE = 0.1

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.target = rate
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, on_wait: Callable[[float], None] | None = None) -> float:
        """Take one token, sleeping until one is free; return the seconds waited.

        `on_wait(seconds)` hears of a wait as it begins, before the sleep.
        """
        if self.target <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            elapsed = now - self._updated
            self.rate = min(self.target, self.rate + self.target * elapsed / self.RECOVERY_SECONDS)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            if on_wait is not None:
                on_wait(wait)
            time.sleep(wait)
        return wait

    def slow_down(self) -> None:
        """Halve the pace after a throttled answer, down to a tenth of the target."""
        with self._lock:
            self.rate = max(self.target * self.SLOWEST_SHARE, self.rate / 2)


@dataclass
class CallStats:
    """Counters of API traffic, shared by every client of a run."""

    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    throttled_by_quota: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    """Throttled answers per (account, region)."""
    quota_wait_seconds: float = 0.0
    """Seconds workers slept on the client-side quota, summed over the workers."""
    quota_wait_wall_seconds: float = 0.0
    """Wall-clock seconds during which at least one worker slept on the quota."""
    rescans: int = 0
    page_retries: int = 0
    _waiting_until: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, counter: Counter[str], operation: str) -> None:
        """Add one to a per-operation counter."""
        with self._lock:
            counter[operation] += 1

    def add_rescan(self) -> None:
        """Count one whole rescan of a participant."""
        with self._lock:
            self.rescans += 1

    def add_page_retry(self) -> None:
        """Count one more call for a page whose answer could not be read."""
        with self._lock:
            self.page_retries += 1

    def add_wait(self, seconds: float) -> None:
        """Count a wait on the client-side quota that begins now and lasts `seconds`.

        Waits begin in the order this is called (the clock is read under the lock), so the
        wall-clock time covered by any wait grows by the part of this one past the last end.
        """
        with self._lock:
            now = time.monotonic()
            ends = now + seconds
            self.quota_wait_seconds += seconds
            self.quota_wait_wall_seconds += max(0.0, ends - max(now, self._waiting_until))
            self._waiting_until = max(self._waiting_until, ends)

    def add_throttled(self, operation: str, account_id: str | None, region: str) -> None:
        """Count one throttled answer, per operation and per (account, region)."""
        with self._lock:
            self.throttled[operation] += 1
            self.throttled_by_quota[account_id, region] += 1

    @property
    def retries(self) -> int:
        """HTTP attempts beyond the first of each call."""
        return sum(self.attempts.values()) - sum(self.calls.values())


class ApiClients:
    """Builds and caches one boto3 client per (account, region), each paced by its own limiters."""

    def __init__(
        self,
        session_for: Callable[[str | None], boto3.Session],
        config: IvsRealtimeConfiguration,
        stats: CallStats,
    ) -> None:
        self._session_for = session_for
        self.config = config
        self.stats = stats
        self._clients: dict[tuple[str | None, str], Any] = {}
        self._limiters: dict[tuple[str | None, str, str], RateLimiter] = {}
        self._lock = threading.Lock()

    def client(self, account_id: str | None, region: str) -> Any:
        """The ivs-realtime client for one account and region, created once."""
        key = (account_id, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(account_id, region)
            return self._clients[key]

    def limiter(self, account_id: str | None, region: str, operation: str) -> RateLimiter:
        """The rate limiter of one (account, region, operation)."""
        key = (account_id, region, operation)
        with self._lock:
            if key not in self._limiters:
                # No client burst: the service's own burst stays as slack for network jitter.
                self._limiters[key] = RateLimiter(self.config.requests_per_second, burst=1.0)
            return self._limiters[key]

    def _build(self, account_id: str | None, region: str) -> Any:
        """Create a client whose every HTTP attempt first takes a token from its limiter."""
        settings = self.config
        botocore_config = Config(
            region_name=region,
            retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            # Every worker of the (account, region) holds a connection, with room for retries.
            max_pool_connections=max(10, settings.workers_per_region * 2),
            user_agent_extra="ivs-replicas",
        )
        client = self._session_for(account_id).client(
            SERVICE_NAME,
            region_name=region,
            endpoint_url=settings.endpoint_url,
            config=botocore_config,
        )
        events = client.meta.events
        events.register("before-call.ivs-realtime.*", self._on_call)
        events.register(
            "before-send.ivs-realtime.*",
            lambda event_name, **_: self._on_attempt(account_id, region, event_name.split(".")[-1]),
        )
        events.register(
            f"before-parse.ivs-realtime.{LIST_REPLICAS_OPERATION}", keep_replicas_as_sent
        )
        events.register(
            "needs-retry.ivs-realtime.*",
            lambda response, operation, **_: self._on_response(
                account_id, region, response, operation
            ),
        )
        return client

    def should_rescan(self, error_code: str | None, attempt: int) -> bool:
        """Whether a participant whose scan failed with this error gets another whole scan."""
        return error_code in TRANSIENT_ERROR_CODES and attempt < self.config.scan_attempts

    def _on_call(self, model: Any, **_: Any) -> None:
        """Count one API call (before retries)."""
        self.stats.count(self.stats.calls, model.name)

    def _on_attempt(self, account_id: str | None, region: str, operation: str) -> None:
        """Pace one HTTP attempt, retries included, by its (account, region, operation) quota."""
        self.stats.count(self.stats.attempts, operation)
        self.limiter(account_id, region, operation).acquire(on_wait=self.stats.add_wait)

    def _on_response(
        self, account_id: str | None, region: str, response: Any, operation: Any
    ) -> None:
        """Count throttled responses and slow their limiter down."""
        if response and response[1].get("Error", {}).get("Code") in THROTTLING_ERROR_CODES:
            self.stats.add_throttled(operation.name, account_id, region)
            self.limiter(account_id, region, operation.name).slow_down()
