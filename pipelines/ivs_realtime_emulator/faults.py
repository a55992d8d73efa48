"""Fault settings, request quotas and the seeded fault picker of the emulator."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Kinds of injected faults, in the order ``fail_first`` consumes them.
FAULT_KINDS = ("throttle", "error", "unavailable", "drop", "slow", "malformed")
# Kinds that only change how a listing pages (no error is returned).
PAGING_KINDS = ("cycle", "empty_page", "duplicate")

_RATE_FIELDS = ("error_rate", "drop_rate", "slow_rate", "malformed_rate")
_SET_FIELDS = (
    "access_denied_stages",
    "rejected_access_key_ids",
    "cycle_participants",
    "empty_page_participants",
    "duplicate_across_pages",
    "unknown_field_participants",
    "malformed_replica_participants",
    "fault_participants",
    "fault_operations",
    "fault_stages",
)


class FaultsError(ValueError):
    """A faults object in a scenario file or on the command line is invalid."""


@dataclass(frozen=True)
class Faults:
    """What the emulator does wrong, and how often; the default does nothing wrong."""

    latency_ms: float = 0.0
    requests_per_second: float | None = None
    burst: float | None = None
    operation_requests_per_second: Mapping[str, float] = field(default_factory=dict)
    error_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 1000.0
    malformed_rate: float = 0.0
    access_denied_stages: frozenset[str] = frozenset()
    access_denied_by_operation: Mapping[str, frozenset[str]] = field(default_factory=dict)
    rejected_access_key_ids: frozenset[str] = frozenset()
    cycle_participants: frozenset[str] = frozenset()
    empty_page_participants: frozenset[str] = frozenset()
    duplicate_across_pages: frozenset[str] = frozenset()
    unknown_field_participants: frozenset[str] = frozenset()
    malformed_replica_participants: frozenset[str] = frozenset()
    fail_first: Mapping[str, int] = field(default_factory=dict)
    fault_participants: frozenset[str] = frozenset()
    fault_operations: frozenset[str] = frozenset()
    fault_stages: frozenset[str] = frozenset()
    seed: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "faults") -> Faults:
        """Build faults from a JSON-style mapping, rejecting unknown keys and bad values."""
        if not isinstance(data, Mapping):
            raise FaultsError(f"{where}: expected an object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultsError(
                f"{where}: unknown fault setting(s) {unknown}; known: {sorted(known)}"
            )
        values = {k: _coerce(k, v, f"{where}.{k}") for k, v in data.items() if v is not None}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings that differ from the defaults, JSON-ready."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value == getattr(_DEFAULT, f.name):
                continue
            out[f.name] = _plain(value)
        return out

    def with_overrides(self, overrides: Mapping[str, Any]) -> Faults:
        """Return a copy with the given settings replaced; ``None`` values are ignored."""
        merged = {**self.to_dict(), **{k: v for k, v in overrides.items() if v is not None}}
        return Faults.from_dict(merged, where="fault overrides")

    def quota_for(self, operation: str) -> float | None:
        """Return the requests-per-second quota of one operation, if any."""
        return self.operation_requests_per_second.get(operation, self.requests_per_second)

    def denies(self, operation: str, stage_arn: str) -> bool:
        """Tell whether a call of this operation on this stage is answered AccessDenied."""
        return stage_arn in self.access_denied_stages or stage_arn in (
            self.access_denied_by_operation.get(operation, frozenset())
        )


def _plain(value: Any) -> Any:
    """Turn mappings into plain dicts, and sets into sorted lists, for JSON."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return sorted(value) if isinstance(value, frozenset) else value


def _coerce(name: str, value: Any, where: str) -> Any:
    """Check and convert one fault setting."""
    if name in _SET_FIELDS:
        return _string_set(value, where)
    if name == "operation_requests_per_second":
        return {
            str(k): _number(v, f"{where}.{k}", positive=True) for k, v in _mapping(value, where)
        }
    if name == "access_denied_by_operation":
        return {str(k): _string_set(v, f"{where}.{k}") for k, v in _mapping(value, where)}
    if name == "fail_first":
        return {_fault_kind(k, where): _count(v, f"{where}.{k}") for k, v in _mapping(value, where)}
    if name == "seed":
        return _count(value, where)
    number = _number(value, where, positive=name in ("requests_per_second", "burst"))
    if name in _RATE_FIELDS and number > 1.0:
        raise FaultsError(f"{where}: a rate must be between 0 and 1, got {value!r}")
    return number


def _mapping(value: Any, where: str) -> Iterable[tuple[Any, Any]]:
    """Return the items of a mapping or fail."""
    if not isinstance(value, Mapping):
        raise FaultsError(f"{where}: expected an object, got {value!r}")
    return value.items()


def _fault_kind(kind: Any, where: str) -> str:
    """Check a ``fail_first`` key."""
    if kind not in FAULT_KINDS:
        raise FaultsError(f"{where}: unknown fault kind {kind!r}; known: {list(FAULT_KINDS)}")
    return str(kind)


def _string_set(value: Any, where: str) -> frozenset[str]:
    """Check a list of strings."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise FaultsError(f"{where}: expected a list of strings, got {value!r}")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise FaultsError(f"{where}: expected a list of strings, got {value!r}")
    return frozenset(items)


def _number(value: Any, where: str, positive: bool = False) -> float:
    """Check a non-negative (or positive) number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultsError(f"{where}: expected a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise FaultsError(
            f"{where}: expected a {'positive' if positive else 'non-negative'} number"
        )
    return float(value)


def _count(value: Any, where: str) -> int:
    """Check a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultsError(f"{where}: expected a non-negative integer, got {value!r}")
    return value


_DEFAULT = Faults()


def matches_participant(names: frozenset[str], stage_arn: str, participant_id: str) -> bool:
    """Tell whether a participant is named by id or by ``stage_arn/participant_id``."""
    return bool(names) and (participant_id in names or f"{stage_arn}/{participant_id}" in names)


class TokenBucket:
    """A thread-safe token bucket refilled at ``rate`` per second up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate, self._burst = rate, burst
        self._tokens, self._stamp = burst, time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take one token if available."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class Quotas:
    """Per-region, per-operation request quotas."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._buckets: dict[tuple[str, str], TokenBucket | None] = {}
        self._lock = threading.Lock()

    def allow(self, region: str, operation: str) -> bool:
        """Tell whether a request fits in its quota (and consume it)."""
        key = (region, operation)
        try:
            bucket = self._buckets[key]
        except KeyError:
            bucket = self._create(key)
        return bucket is None or bucket.take()

    def _create(self, key: tuple[str, str]) -> TokenBucket | None:
        """Create the bucket of one (region, operation), once."""
        with self._lock:
            if key not in self._buckets:
                rate = self._faults.quota_for(key[1])
                burst = max(1.0, self._faults.burst or rate or 1.0)
                self._buckets[key] = TokenBucket(rate, burst) if rate else None
            return self._buckets[key]


class FaultPicker:
    """Decides, per eligible request, which fault (if any) to inject; seeded and thread-safe."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._remaining = {k: faults.fail_first.get(k, 0) for k in FAULT_KINDS}
        self._lock = threading.Lock()
        self._random = any(getattr(faults, name) > 0 for name in _RATE_FIELDS)

    def eligible(self, operation: str, stage_arn: str | None, participant_id: str | None) -> bool:
        """Tell whether random and first-N faults apply to this request."""
        f = self.faults
        if f.fault_operations and operation not in f.fault_operations:
            return False
        if f.fault_stages and stage_arn not in f.fault_stages:
            return False
        if not f.fault_participants:
            return True
        return participant_id is not None and matches_participant(
            f.fault_participants, stage_arn or "", participant_id
        )

    def pick(self) -> str | None:
        """Return the fault kind for the next eligible request, or None."""
        with self._lock:
            for kind in FAULT_KINDS:
                if self._remaining[kind] > 0:
                    self._remaining[kind] -= 1
                    return kind
            if not self._random:
                return None
            return self._draw(self._rng.random())

    def _draw(self, u: float) -> str | None:
        """Map one uniform draw onto the configured rates."""
        f = self.faults
        for kind, rate in (("drop", f.drop_rate), ("error", f.error_rate)):
            if u < rate:
                if kind == "error" and self._rng.random() < 0.5:
                    return "unavailable"
                return kind
            u -= rate
        for kind, rate in (("slow", f.slow_rate), ("malformed", f.malformed_rate)):
            if u < rate:
                return kind
            u -= rate
        return None
