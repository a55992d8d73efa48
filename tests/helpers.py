"""Helpers shared by the tests: run the pipeline, read the test database, compare with the scenario."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pytest
from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import (
    ConfigTomlProvider,
    EnvironProvider,
    SecretsTomlProvider,
)
from dlt.common.configuration.specs import AwsCredentials
from dlt.common.configuration.specs.config_providers_context import ConfigProvidersContainer
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
from ivs_realtime_emulator import Emulator
from ivs_replicas import runner

FAKE_KEY_ID = "AKIATESTFAKE0000001"
FAKE_SECRET = "fake-secret-Zq9xV7wK3mN8pL2rT5yU"

RunFn = Callable[..., runner.RunSummary]


class Invocation(NamedTuple):
    """What one command printed, and its exit code."""

    exit_code: int
    out: str
    err: str


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, no profile, no telemetry, no source settings from the developer's shell."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IVS_REALTIME",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("SOURCES__"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


def run_pipeline(database: Path, emulator: Emulator, **options: Any) -> runner.RunSummary:
    """Run the pipeline once against an emulator, with its scenario's participants by default."""
    options.setdefault("participants", emulator.scenario.participant_refs())
    options.setdefault("requests_per_second", 0)
    return runner.run(
        database,
        credentials=AwsCredentials(
            aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET
        ),
        endpoint_url=emulator.url,
        **options,
    )


@contextmanager
def project_config(project: Path) -> Iterator[None]:
    """Let dlt read settings as a new process started in `project` would: env, then project/.dlt.

    dlt reads the TOML files once, when its providers are made, and keeps them in the
    `Container` for the life of the process. These providers read the files now, from this
    project only (not the repository's .dlt/, not the global one); the process's own ones come
    back afterwards.
    """
    context = Container()[PluggableRunContext]
    saved = context.providers
    settings = str(project / ".dlt")
    context.providers = ConfigProvidersContainer(
        [EnvironProvider(), SecretsTomlProvider(settings), ConfigTomlProvider(settings)]
    )
    try:
        yield
    finally:
        context.providers = saved


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the test database, read-only."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).fetchall()


REPLICA_COLUMNS = (
    "source_stage_arn",
    "participant_id",
    "source_session_id",
    "destination_stage_arn",
    "destination_session_id",
    "replication_state",
)


def loaded_replicas(database: Path, run_id: str | None = None) -> list[dict[str, str]]:
    """The loaded replica rows of one run (or all), as the scenario spells them, sorted."""
    where = f"where run_id = '{run_id}'" if run_id else ""
    rows = query(
        database,
        f"select {', '.join(REPLICA_COLUMNS)} from ivs_realtime.participant_replicas {where}",
    )
    return sorted_rows([dict(zip(REPLICA_COLUMNS, row, strict=True)) for row in rows])


def sorted_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows in a stable order for comparison."""
    return sorted(rows, key=lambda row: tuple(row[column] for column in REPLICA_COLUMNS))
