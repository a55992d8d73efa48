"""Shared fixtures: an offline AWS environment, the local endpoint, and runs against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, Faults, Scenario
from ivs_replicas import cli

from .helpers import Invocation, RunFn, go_offline, project_config, run_pipeline


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, no profile, no telemetry: nothing can reach AWS or the internet."""
    go_offline(monkeypatch)


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
    return partial(run_pipeline, database)


@pytest.fixture
def ivs_replicas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Invocation]:
    """`ivs-replicas ARGS` run in-process from tmp_path, reading that project's settings only."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Invocation:
        with project_config(tmp_path):
            code = cli.main(list(args))
        captured = capsys.readouterr()
        return Invocation(code, captured.out, captured.err)

    return invoke
