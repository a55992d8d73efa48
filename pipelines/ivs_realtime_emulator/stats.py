"""Thread-safe request counters and request log of the emulator."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any, NamedTuple

MAX_LOGGED_REQUESTS = 500_000


class RequestRecord(NamedTuple):
    """One API request as received: operation, signing region and JSON body."""

    operation: str
    region: str | None
    params: dict[str, Any]


class Stats:
    """Counters read by tests and by ``GET /_emulator/state``; all updates are locked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_operation: Counter[str] = Counter()
        self._by_region: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()
        self._log: deque[RequestRecord] = deque(maxlen=MAX_LOGGED_REQUESTS)

    def record(self, operation: str, region: str | None, params: dict[str, Any]) -> None:
        """Count and log one request."""
        with self._lock:
            self._by_operation[operation] += 1
            self._by_region[region or "unknown"] += 1
            self._log.append(RequestRecord(operation, region, params))

    def bump(self, name: str, amount: int = 1) -> None:
        """Increase a named counter such as ``throttled`` or ``validation_errors``."""
        with self._lock:
            self._counts[name] += amount

    def fault(self, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self._faults[kind] += 1

    def reset(self) -> None:
        """Clear every counter and the request log."""
        with self._lock:
            for counter in (self._by_operation, self._by_region, self._faults, self._counts):
                counter.clear()
            self._log.clear()

    def _count(self, name: str) -> int:
        """Read a named counter."""
        with self._lock:
            return self._counts[name]

    @property
    def by_operation(self) -> dict[str, int]:
        """Requests per operation."""
        with self._lock:
            return dict(self._by_operation)

    @property
    def by_region(self) -> dict[str, int]:
        """Requests per signing region."""
        with self._lock:
            return dict(self._by_region)

    @property
    def faults(self) -> dict[str, int]:
        """Injected faults per kind."""
        with self._lock:
            return dict(self._faults)

    @property
    def total_requests(self) -> int:
        """All API requests received."""
        with self._lock:
            return sum(self._by_operation.values())

    @property
    def throttled(self) -> int:
        """Requests answered with ThrottlingException."""
        return self._count("throttled")

    @property
    def region_mismatches(self) -> int:
        """Requests signed for another region than their stage ARN's."""
        return self._count("region_mismatches")

    @property
    def validation_errors(self) -> int:
        """Requests answered with a ValidationException or SerializationException."""
        return self._count("validation_errors")

    @property
    def access_denied(self) -> int:
        """Requests answered with AccessDeniedException."""
        return self._count("access_denied")

    @property
    def auth_failures(self) -> int:
        """Requests answered with UnrecognizedClientException."""
        return self._count("auth_failures")

    @property
    def items_served(self) -> int:
        """List items (replicas, stages, ...) returned in successful responses."""
        return self._count("items_served")

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def snapshot(self) -> dict[str, Any]:
        """Return every counter as one JSON-ready dict."""
        with self._lock:
            return {
                "total_requests": sum(self._by_operation.values()),
                "by_operation": dict(self._by_operation),
                "by_region": dict(self._by_region),
                "faults": dict(self._faults),
                **{name: self._counts[name] for name in _NAMED},
            }


_NAMED = (
    "throttled",
    "region_mismatches",
    "validation_errors",
    "access_denied",
    "auth_failures",
    "items_served",
)
