"""The scheduled job as a user runs it: subprocesses, exit codes, kills, concurrency, secrets."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, Faults, Scenario, generate_scenario
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.storage import DuckDbFile

from .helpers import FAKE_KEY_ID, loaded_replicas, query, sorted_rows

StartFn = Callable[..., Emulator]
SCRIPT = str(Path(sys.executable).with_name("ivs-replicas"))


def write_participants(scenario: Scenario, path: Path) -> Path:
    """The scenario's participants as a CSV file, as a user would keep them."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["source_stage_arn", "participant_id"])
        writer.writeheader()
        writer.writerows(scenario.participant_refs())
    return path


def cli_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    """The environment of a user pointing boto3 at the local endpoint."""
    return {
        **os.environ,
        "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
        "SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND": "0",
        **extra,
    }


def start_run(
    emulator: Emulator, tmp_path: Path, *, debug: bool = False, **env: str
) -> subprocess.Popen[str]:
    """Start `ivs-replicas run` in the background."""
    flags = ["--debug"] if debug else []
    return subprocess.Popen(
        [SCRIPT, *flags, "run", "--participants", "participants.csv", "--db", "replicas.duckdb"],
        cwd=tmp_path,
        env=cli_env(emulator, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a run; return its exit code and output."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def wait_until(condition: Callable[[], bool], timeout: float = 120) -> None:
    """Poll a condition every millisecond until it holds or the timeout passes."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


@pytest.mark.slow
def test_run_from_the_command_line_loads_the_scenario(
    start_emulator: StartFn, tmp_path: Path
) -> None:
    scenario = generate_scenario(
        participants=6, replicas_per_participant=[0, 1, 51], regions=("us-east-1", "eu-west-1")
    )
    emulator = start_emulator(scenario)
    write_participants(scenario, tmp_path / "participants.csv")
    code, out, err = finish(start_run(emulator, tmp_path))
    assert code == 0, err
    assert "participants  6 ok, 0 failed" in out
    assert loaded_replicas(tmp_path / "replicas.duckdb") == sorted_rows(
        scenario.expected_replicas(0)
    )


@pytest.mark.slow
def test_failed_participants_exit_3_with_summary(start_emulator: StartFn, tmp_path: Path) -> None:
    scenario = generate_scenario(
        participants=4, replicas_per_participant=3, participants_per_stage=2
    )
    denied = scenario.participant_refs()[0]["source_stage_arn"]
    emulator = start_emulator(scenario, Faults(access_denied_stages=frozenset({denied})))
    write_participants(scenario, tmp_path / "participants.csv")
    code, out, err = finish(start_run(emulator, tmp_path))
    assert code == 3, err
    assert "2 ok, 2 failed" in out
    assert "2 x AccessDeniedException" in out


@pytest.mark.slow
def test_rejected_credentials_exit_1_with_one_line_and_no_traceback(
    start_emulator: StartFn, tmp_path: Path
) -> None:
    scenario = generate_scenario(participants=3, replicas_per_participant=3)
    emulator = start_emulator(scenario, Faults(rejected_access_key_ids=frozenset({FAKE_KEY_ID})))
    write_participants(scenario, tmp_path / "participants.csv")
    code, _, err = finish(start_run(emulator, tmp_path))
    assert code == 1
    # Besides progress lines (one every 10 s on a slow machine), one line says what happened.
    said = [line for line in err.strip().splitlines() if not line.startswith("progress ")]
    assert len(said) == 1, err
    assert said[0].startswith("error: AWS rejected the credentials")
    code, _, err = finish(start_run(emulator, tmp_path, debug=True))
    assert code == 1
    assert "Traceback" in err


@pytest.mark.slow
def test_a_concurrent_second_run_exits_4_naming_the_holder(
    start_emulator: StartFn, tmp_path: Path
) -> None:
    scenario = generate_scenario(participants=24, replicas_per_participant=2)
    # Seconds per request, one at a time per region: the first run holds the lock for a minute,
    # until the test lets it go.
    emulator = start_emulator(scenario, Faults(latency_ms=5000))
    write_participants(scenario, tmp_path / "participants.csv")
    first = start_run(emulator, tmp_path, SOURCES__IVS_REALTIME__WORKERS_PER_REGION="1")
    lock = DuckDbFile(tmp_path / "replicas.duckdb").lock_path
    wait_until(lambda: emulator.stats.total_requests > 0 or first.poll() is not None)
    code, _, err = finish(start_run(emulator, tmp_path))
    assert code == 4, err
    assert f"pid {first.pid}" in err
    assert first.poll() is None, "the second run exited while the first still held the lock"
    assert lock.exists()
    emulator.set_faults(Faults())
    code, _out, err = finish(first)
    assert code == 0, err
    assert query(
        tmp_path / "replicas.duckdb", "select count(*) from ivs_realtime.participant_scans"
    ) == [(24,)]


def package_dir(tmp_path: Path, stage: str) -> Path:
    """A folder of dlt's pipeline working directory."""
    store = DuckDbFile(tmp_path / "replicas.duckdb")
    return store.pipelines_dir(DEFAULT_DATASET) / "ivs_replicas" / stage


def has_package(folder: Path) -> bool:
    """Whether a load package sits in the folder."""
    return folder.is_dir() and any(folder.iterdir())


# Small Arrow batches in small files: the load package holds dozens of jobs, so a kill in the
# load step lands between jobs, after some tables got rows and before the load is recorded.
MANY_JOBS = {"SOURCES__IVS_REALTIME__BATCH_ROWS": "200", "DATA_WRITER__FILE_MAX_ITEMS": "200"}
KILL_PARTICIPANTS = 150


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["extract", "normalize", "load"])
def test_a_run_killed_in_any_step_leaves_nothing_half_visible_and_the_next_run_loads_it_once(
    start_emulator: StartFn, tmp_path: Path, phase: str
) -> None:
    scenario = generate_scenario(
        participants=KILL_PARTICIPANTS,
        replicas_per_participant=[20, 60, 110],
        regions=("us-east-1", "eu-west-1"),
    )
    emulator = start_emulator(scenario)
    write_participants(scenario, tmp_path / "participants.csv")
    database = tmp_path / "replicas.duckdb"
    code, _, err = finish(start_run(emulator, tmp_path, **MANY_JOBS))
    assert code == 0, err
    requests_per_run = emulator.stats.total_requests
    [(first_run,)] = query(database, "select run_id from ivs_realtime.scan_runs")

    emulator.reset_stats()
    extracted, normalized = (
        package_dir(tmp_path, "normalize/extracted"),
        package_dir(tmp_path, "load/normalized"),
    )
    in_step: dict[str, Callable[[], bool]] = {
        # A slow endpoint: once a fifth of the requests are made, seconds of extraction remain.
        "extract": lambda: emulator.stats.total_requests >= requests_per_run // 5,
        "normalize": lambda: has_package(extracted),
        # Inside the load step: the first job of the package is done, others are running.
        "load": lambda: any(normalized.glob("*/completed_jobs/*")),
    }
    if phase == "extract":
        emulator.set_faults(Faults(latency_ms=100))
    process = start_run(emulator, tmp_path, **MANY_JOBS)
    wait_until(lambda: process.poll() is not None or in_step[phase]())
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, f"the run ended before the kill in {phase}"
    left_behind = {
        "extract": emulator.stats.total_requests < requests_per_run
        and not has_package(extracted)
        and not has_package(normalized),
        "normalize": has_package(extracted),
        "load": has_package(normalized) and not has_package(extracted),
    }
    assert left_behind[phase], f"the kill came after the {phase} step"
    assert query(database, "select run_id from ivs_realtime.scan_runs") == [(first_run,)], (
        "the views show no row of the killed run"
    )

    emulator.set_faults(Faults())
    code, out, err = finish(start_run(emulator, tmp_path, **MANY_JOBS))
    assert code == 0, err
    resumed = phase != "extract"
    assert ("resumed       1 interrupted load package(s)" in out) == resumed, out
    runs = query(database, "select distinct run_id from ivs_realtime.participant_scans")
    assert len(runs) == 2 + resumed, (
        "the killed run is loaded by the next one, if it got past extract"
    )
    assert query(
        database, "select count(*), count(distinct load_id) from ivs_realtime._dlt_loads"
    ) == [(len(runs), len(runs))]
    expected = sorted_rows(scenario.expected_replicas(0))
    for (run_id,) in runs:
        scans = query(
            database,
            f"select count(*), count(distinct participant_id) from ivs_realtime.participant_scans where run_id = '{run_id}'",
        )
        assert scans == [(KILL_PARTICIPANTS, KILL_PARTICIPANTS)], (
            f"run {run_id} is whole in the ledger"
        )
        loaded = loaded_replicas(database, run_id)
        assert len(loaded) == len(expected), f"run {run_id} has each replica row once"
        assert loaded == expected, f"run {run_id} is loaded exactly once"


@pytest.mark.slow
def test_credentials_never_leak_into_output_or_files(
    start_emulator: StartFn, tmp_path: Path
) -> None:
    secret = "leakcheck-Secret-7fQ2mX9vB4nK1pW8"
    scenario = generate_scenario(
        participants=4, replicas_per_participant=3, participants_per_stage=2
    )
    denied = scenario.participant_refs()[0]["source_stage_arn"]
    emulator = start_emulator(scenario, Faults(access_denied_stages=frozenset({denied})))
    write_participants(scenario, tmp_path / "participants.csv")
    outputs = []
    for debug in (False, True):
        code, out, err = finish(
            start_run(emulator, tmp_path, debug=debug, AWS_SECRET_ACCESS_KEY=secret)
        )
        assert code == 3, err
        outputs += [out, err]
    emulator.set_faults(Faults(rejected_access_key_ids=frozenset({FAKE_KEY_ID})))
    code, out, err = finish(start_run(emulator, tmp_path, debug=True, AWS_SECRET_ACCESS_KEY=secret))
    assert code == 1
    outputs += [out, err]
    assert not [text for text in outputs if secret in text]
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "trace.pickle" for path in written)
    assert not [path for path in written if secret.encode() in path.read_bytes()]
