"""The source's settings: one typed dlt configspec, checked as it resolves, before any call."""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

import dlt
from dlt.common.configuration import configspec
from dlt.common.configuration.exceptions import ConfigValueCannotBeCoercedException
from dlt.common.configuration.specs import AwsCredentials, BaseConfiguration

from ivs_replicas.sources.ivs_realtime.exceptions import InvalidSourceInput
from ivs_replicas.sources.ivs_realtime.participants import (
    field_problems,
    known_regions,
    region_problems,
)
from ivs_replicas.sources.ivs_realtime.settings import (
    ENV_PREFIX,
    MAX_PAGE_SIZE,
    RETRY_MODES,
    SECTION,
    SOURCE_NAME,
)

CREDENTIALS_SECTION = f"[sources.{SOURCE_NAME}.credentials]"


@configspec
class IvsRealtimeConfiguration(BaseConfiguration):
    """Every setting of `[sources.ivs_realtime]`; environment variables override them.

    dlt resolves it from `.dlt/config.toml`, `.dlt/secrets.toml` and `SOURCES__IVS_REALTIME__*`,
    with arguments of the `ivs_realtime(...)` call taking precedence. `on_resolved` checks it.
    """

    participants: list[dict[str, str]] | None = None
    """`[{source_stage_arn, participant_id}, ...]` to scan, used when no file is given."""
    participants_file: str | None = None
    """Participants file: CSV (header `source_stage_arn,participant_id`), JSON lines or array."""
    # Required, as dlt specs write it: resolution fails when neither config nor boto3's chain
    # has credentials.
    credentials: AwsCredentials = None  # type: ignore[assignment]
    """AWS credentials from `[sources.ivs_realtime.credentials]`; boto3's chain when unset."""
    endpoint_url: str | None = None
    """Endpoint override; boto3's `AWS_ENDPOINT_URL_IVS_REALTIME` works too."""
    page_size: int = 50
    """`maxResults` per call, 1-50."""
    max_pages: int = 10_000
    """Pages per listing before its scan fails: a guard against endless pagination."""
    requests_per_second: float = 5.0
    """Client-side quota per (account, region, operation); 0 turns it off."""
    max_attempts: int = 8
    """botocore attempts per call, the first included, 1-50."""
    retry_mode: Literal["standard", "adaptive"] = "standard"
    """botocore retry mode: standard or adaptive."""
    connect_timeout: float = 5.0
    """Seconds to connect."""
    read_timeout: float = 15.0
    """Seconds to wait for a response."""
    workers_per_region: int = 4
    """Concurrent participant scans per (account, region), 1-256."""
    batch_rows: int = 5_000
    """Replica rows per Arrow table handed to dlt; also bounds finished scans held in memory."""
    scan_attempts: int = 3
    """Whole scans of a participant whose retries ended in a transient error, 1-20."""
    max_run_seconds: float = 2700.0
    """Seconds a run may spend scanning; participants unfinished by then fail. 0: no deadline."""
    discover_stages: bool = False
    """Find SOURCE publishers through stages, their sessions and published participants."""
    discovery_regions: list[str] | None = None
    """Regions whose every stage is discovered."""
    discovery_stage_arns: list[str] | None = None
    """Only these stages are discovered."""
    discovery_stage_tags: dict[str, str] | None = None
    """Only stages carrying all these tags are discovered."""
    session_lookback_hours: float = 24.0
    """How far back the first discovery looks for sessions that already ended."""
    fetch_events: bool | None = None
    """Load the replication events of scanned participants; unset means on with discovery."""
    accounts: list[dict[str, str]] | None = None
    """`[{account_id, role_arn, external_id, profile_name}, ...]`: other accounts to reach."""

    def on_resolved(self) -> None:
        """Refuse unknown keys, then values out of range, each named by its setting."""
        check_known_keys()
        problems = [*self.range_problems(), *self.discovery_problems()]
        if problems:
            raise InvalidSourceInput(
                f"bad settings in {SECTION}", [f"{SECTION} {problem}" for problem in problems]
            )

    def on_partial(self) -> None:
        """Name misspelt keys before dlt reports the settings (credentials) they left missing."""
        check_known_keys()

    @property
    def events_enabled(self) -> bool:
        """Whether replication events are loaded: `fetch_events`, else on with discovery."""
        return self.discover_stages if self.fetch_events is None else self.fetch_events

    def range_problems(self) -> list[str]:
        """Problems of the numeric and choice settings."""
        problems = [
            *_integer_in("page_size", self.page_size, 1, MAX_PAGE_SIZE),
            *_integer_in("max_pages", self.max_pages, 1, None),
            *_integer_in("max_attempts", self.max_attempts, 1, 50),
            *_integer_in("workers_per_region", self.workers_per_region, 1, 256),
            *_integer_in("batch_rows", self.batch_rows, 1, None),
            *_integer_in("scan_attempts", self.scan_attempts, 1, 20),
            *_positive("requests_per_second", self.requests_per_second, allow_zero=True),
            *_positive("connect_timeout", self.connect_timeout),
            *_positive("read_timeout", self.read_timeout),
            *_positive("max_run_seconds", self.max_run_seconds, allow_zero=True),
            *_positive("session_lookback_hours", self.session_lookback_hours),
        ]
        if self.retry_mode not in RETRY_MODES:
            problems.append(
                f"retry_mode is {self.retry_mode!r}; use one of {', '.join(RETRY_MODES)}"
            )
        return problems

    def discovery_problems(self) -> list[str]:
        """Problems of the discovery scope: regions and stage ARNs that cannot be listed."""
        problems = []
        if self.discover_stages and not self.discovery_regions and not self.discovery_stage_arns:
            problems.append("discover_stages needs discovery_regions or discovery_stage_arns")
        problems += [
            f"discovery_regions: {region!r} is not a region where IVS Real-Time is offered"
            for region in self.discovery_regions or ()
            if region not in known_regions()
        ]
        problems += [
            f"discovery_stage_arns: {arn!r} is not a stage ARN"
            for arn in self.discovery_stage_arns or ()
            if field_problems("source_stage_arn", arn) or region_problems(arn)
        ]
        return problems


def _integer_in(name: str, value: object, low: int, high: int | None) -> list[str]:
    """A problem when value is not an integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{name} must be an integer, got {value!r}"]
    if value < low or (high is not None and value > high):
        upper = f"-{high}" if high is not None else " or more"
        return [f"{name} is {value}; it must be {low}{upper}"]
    return []


def _positive(name: str, value: object, allow_zero: bool = False) -> list[str]:
    """A problem when value is not a finite positive number (or zero, where zero means no limit)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{name} must be a number, got {value!r}"]
    if not math.isfinite(value):
        return [f"{name} is {value}; it must be a finite number"]
    if value > 0 or (allow_zero and value == 0):
        return []
    bound = "0 (no limit) or more" if allow_zero else "greater than 0"
    return [f"{name} is {value}; it must be {bound}"]


def setting_names() -> list[str]:
    """The settings of `[sources.ivs_realtime]`, in the configspec's order."""
    return list(IvsRealtimeConfiguration.get_resolvable_fields())


def check_known_keys(environ: Mapping[str, str] | None = None) -> None:
    """Raise InvalidSourceInput naming every key that dlt would silently ignore: keys of the
    source's config section or its credentials table, and `SOURCES__IVS_REALTIME__*`
    environment variables, that name no setting.
    """
    settings = setting_names()
    credential_keys = list(AwsCredentials.get_resolvable_fields())
    unknown: dict[str, tuple[str, list[str]]] = {}
    for provider in (dlt.config, dlt.secrets):
        section = provider.get(f"sources.{SOURCE_NAME}", dict) or {}
        for key in _unknown(section, settings):
            unknown[key] = (f"{SECTION} {key}", settings)
        credentials = section.get("credentials")
        if isinstance(credentials, Mapping):
            for key in _unknown(credentials, credential_keys):
                unknown[f"credentials.{key}"] = (f"{CREDENTIALS_SECTION} {key}", credential_keys)
    # dlt looks up only the variables a field asks for, so a misspelt one is silently ignored:
    # only a scan of the environment finds it. This is a check, not a way to read settings.
    for name in os.environ if environ is None else environ:
        if name.startswith(ENV_PREFIX):
            known = _known_for_variable(name, settings, credential_keys)
            if known is not None:
                unknown[name] = (f"environment variable {name}", known)
    if unknown:
        raise InvalidSourceInput(
            f"unknown settings in {SECTION}: {', '.join(sorted(unknown))}",
            [
                f"{where}: not a setting; known ones are {', '.join(known)}"
                for _, (where, known) in sorted(unknown.items())
            ],
        )


def _unknown(section: Mapping[str, Any], known: Iterable[str]) -> list[str]:
    """Keys of a config table that are not among the known ones."""
    return sorted(set(section) - set(known))


def _known_for_variable(
    name: str, settings: list[str], credential_keys: list[str]
) -> list[str] | None:
    """None when `SOURCES__IVS_REALTIME__<KEY>[__<CREDENTIALS KEY>]` names a setting, else
    the names it should have used.
    """
    key, *nested = name.removeprefix(ENV_PREFIX).lower().split("__")
    if key == "credentials" and nested:
        return None if len(nested) == 1 and nested[0] in credential_keys else credential_keys
    return None if key in settings and not nested else settings


def wrong_type(error: ConfigValueCannotBeCoercedException) -> InvalidSourceInput:
    """The error for a setting that cannot be read as its type; secrets are never echoed."""
    name = error.field_name
    shown = "(hidden)" if "secret" in name or "token" in name else repr(error.field_value)
    hint = error.hint
    expected = (
        "one of " + ", ".join(get_args(hint))
        if get_origin(hint) is Literal
        else getattr(hint, "__name__", str(hint))
    )
    return InvalidSourceInput(f"{SECTION} {name} = {shown} cannot be read as {expected}")


F = TypeVar("F", bound=Callable[..., Any])


def with_settings_signature(function: F) -> F:
    """Give a function that takes `**settings` one keyword-only parameter per setting instead.

    dlt binds a call's arguments to this signature: so `ivs_realtime(page_size=10)` is an
    explicit value that wins over config files and env, and a misspelt keyword is a TypeError.
    The settings stay defined once, in IvsRealtimeConfiguration.
    """
    signature = inspect.signature(function)
    defaults = {field.name: field.default for field in dataclasses.fields(IvsRealtimeConfiguration)}
    settings = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=defaults[name], annotation=hint
        )
        for name, hint in IvsRealtimeConfiguration.get_resolvable_fields().items()
    ]
    fixed = [
        p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    function.__signature__ = signature.replace(parameters=[*fixed, *settings])  # type: ignore[attr-defined]
    return function
