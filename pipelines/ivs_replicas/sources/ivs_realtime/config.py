"""Checks of the source's settings, done locally before any API call."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ivs_replicas.errors import BadInputError
from ivs_replicas.sources.ivs_realtime.participants import (
    field_problems,
    known_regions,
    region_problems,
)
from ivs_replicas.sources.ivs_realtime.settings import MAX_PAGE_SIZE

SECTION = "[sources.ivs_realtime]"
RETRY_MODES = ("standard", "adaptive", "legacy")


def check_settings(
    *,
    page_size: int,
    max_pages: int,
    requests_per_second: float,
    max_attempts: int,
    retry_mode: str,
    connect_timeout: float,
    read_timeout: float,
    workers_per_region: int,
    batch_rows: int,
    scan_attempts: int,
) -> None:
    """Raise BadInputError naming every setting that is out of range."""
    problems = [
        *_integer_in("page_size", page_size, 1, MAX_PAGE_SIZE),
        *_integer_in("max_pages", max_pages, 1, None),
        *_integer_in("max_attempts", max_attempts, 1, 50),
        *_integer_in("workers_per_region", workers_per_region, 1, 256),
        *_integer_in("batch_rows", batch_rows, 1, None),
        *_integer_in("scan_attempts", scan_attempts, 1, 20),
        *_positive("requests_per_second", requests_per_second, allow_zero=True),
        *_positive("connect_timeout", connect_timeout),
        *_positive("read_timeout", read_timeout),
    ]
    if retry_mode not in RETRY_MODES:
        problems.append(f"retry_mode is {retry_mode!r}; use one of {', '.join(RETRY_MODES)}")
    if problems:
        raise BadInputError(f"bad settings in {SECTION}", [f"{SECTION} {p}" for p in problems])


def _integer_in(name: str, value: object, low: int, high: int | None) -> list[str]:
    """A problem when value is not an integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{name} must be an integer, got {value!r}"]
    if value < low or (high is not None and value > high):
        upper = f"-{high}" if high is not None else " or more"
        return [f"{name} is {value}; it must be {low}{upper}"]
    return []


def _positive(name: str, value: object, allow_zero: bool = False) -> list[str]:
    """A problem when value is not a positive number (or zero, where zero means no limit)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{name} must be a number, got {value!r}"]
    if value > 0 or (allow_zero and value == 0):
        return []
    bound = "0 (no limit) or more" if allow_zero else "greater than 0"
    return [f"{name} is {value}; it must be {bound}"]


def new_run_id() -> str:
    """A run id that sorts by start time: UTC timestamp plus a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


def check_known_keys(section: Mapping[str, Any] | None, known: Iterable[str]) -> None:
    """Raise BadInputError naming every key of the config section the source does not know."""
    unknown = sorted(set(section or {}) - set(known))
    if unknown:
        raise BadInputError(
            f"unknown settings in {SECTION}: {', '.join(unknown)}",
            [
                f"{SECTION} {key}: not a setting; known ones are {', '.join(sorted(known))}"
                for key in unknown
            ],
        )


def wrong_type(field_name: str, value: object, hint: object) -> BadInputError:
    """The error for a setting that cannot be read as its type; secrets are never echoed."""
    shown = "(hidden)" if "secret" in field_name or "token" in field_name else repr(value)
    expected = getattr(hint, "__name__", str(hint))
    return BadInputError(f"{SECTION} {field_name} = {shown} cannot be read as {expected}")


def check_discovery(
    enabled: bool,
    regions: Sequence[str] | None,
    stage_arns: Sequence[str] | None,
    lookback_hours: float,
) -> None:
    """Raise BadInputError naming every discovery setting that cannot work."""
    if not enabled:
        return
    problems = [*_positive("session_lookback_hours", lookback_hours)]
    if not regions and not stage_arns:
        problems.append("discover_stages needs discovery_regions or discovery_stage_arns")
    problems += [
        f"discovery_regions: {region!r} is not a region where IVS Real-Time is offered"
        for region in regions or ()
        if region not in known_regions()
    ]
    problems += [
        f"discovery_stage_arns: {arn!r} is not a stage ARN"
        for arn in stage_arns or ()
        if field_problems("source_stage_arn", arn) or region_problems(arn)
    ]
    if problems:
        raise BadInputError(
            f"bad discovery settings in {SECTION}", [f"{SECTION} {p}" for p in problems]
        )
