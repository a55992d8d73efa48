"""Shared fixtures: an offline AWS environment, the local endpoint, and runs against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dlt.common.configuration.specs import AwsCredentials
from ivs_realtime_emulator import Emulator, Faults, Scenario
from ivs_replicas import runner

from .helpers import FAKE_KEY_ID, FAKE_SECRET, RunFn


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, no profile, no telemetry: nothing can reach AWS or the internet."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IVS_REALTIME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start local endpoints for scenarios; all are stopped after the test."""
    started: list[Emulator] = []

    def start(scenario: Scenario, faults: Faults | None = None) -> Emulator:
        emulator = Emulator(scenario, faults=faults).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A DuckDB file path in the test's own directory."""
    return tmp_path / "replicas.duckdb"


@pytest.fixture
def run_against(database: Path) -> RunFn:
    """Run the pipeline once against an emulator, with its scenario's participants."""

    def run(emulator: Emulator, **options: Any) -> runner.RunSummary:
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

    return run
