"""Every failure ends in one line that says why, with the exit code a scheduler branches on."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from ivs_realtime_emulator import Faults, generate_scenario
from ivs_replicas import cli
from ivs_replicas.errors import EXIT_BAD_INPUT, EXIT_BUSY, EXIT_FATAL, BadInputError, FatalRunError
from ivs_replicas.failures import Interrupted, explain, interruption
from ivs_replicas.storage import DuckDbFile

from .helpers import RunFn, query
from .test_operations import StartFn, finish, start_run, write_participants


def wrapped(cause: BaseException) -> BaseException:
    """The cause inside two wrappers, the way dlt's steps wrap what they catch."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError(
                "Pipeline execution failed at `step=load` with exception:"
            ) from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("cause", "exit_code", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), EXIT_FATAL, "no space left on device"),
        (
            duckdb.IOException('Could not set lock on file "x": Conflicting lock (PID 4242)'),
            EXIT_BUSY,
            "locked by process 4242",
        ),
        (
            duckdb.IOException('The file "x" exists, but it is not a valid DuckDB database file!'),
            EXIT_BAD_INPUT,
            "--db is not a DuckDB database",
        ),
        (ValueError("Invalid endpoint: notaurl"), EXIT_BAD_INPUT, "endpoint URL is not valid"),
        (ZeroDivisionError("division by zero"), EXIT_FATAL, "ZeroDivisionError: division by zero"),
        (BadInputError("bad participants"), EXIT_BAD_INPUT, "bad participants"),
    ],
    ids=["disk-full", "locked", "not-duckdb", "bad-endpoint", "unexpected", "own-error"],
)
def test_the_root_cause_is_named_with_its_exit_code(
    cause: BaseException, exit_code: int, words: str
) -> None:
    explained = explain(wrapped(cause))
    assert explained.exit_code == exit_code
    assert words in str(explained)
    assert "step=load" not in str(explained)


def test_a_signal_inside_wrappers_is_an_interruption() -> None:
    assert interruption(wrapped(Interrupted(signal.SIGTERM))).exit_code == 143  # type: ignore[union-attr]
    assert interruption(wrapped(KeyboardInterrupt())).exit_code == 130  # type: ignore[union-attr]
    assert interruption(wrapped(ValueError("no"))) is None


def test_a_text_file_as_database_exits_2_saying_so(
    start_emulator: StartFn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=[1]))
    write_participants(emulator.scenario, tmp_path / "participants.csv")
    (tmp_path / "notes.duckdb").write_text("not a database\n")
    os.environ["AWS_ENDPOINT_URL_IVS_REALTIME"] = emulator.url
    try:
        code = cli.main(
            [
                "run",
                "--participants",
                str(tmp_path / "participants.csv"),
                "--db",
                str(tmp_path / "notes.duckdb"),
            ]
        )
    finally:
        del os.environ["AWS_ENDPOINT_URL_IVS_REALTIME"]
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert "not a DuckDB database" in err
    assert (tmp_path / "notes.duckdb").read_text() == "not a database\n"
    assert "Traceback" not in err


@pytest.mark.slow
def test_report_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    database = tmp_path / "replicas.duckdb"
    with duckdb.connect(str(database)) as connection:
        from ivs_replicas import warehouse

        warehouse.apply_views(connection, "ivs_realtime")
        connection.execute(
            "insert into ivs_realtime.participant_scans (run_id, source_stage_arn, participant_id,"
            " region, account_id, scanned_at, finished_at, status, pages, replica_count,"
            " event_count, _dlt_load_id) select 'r' || i, 'arn', 'p' || i, 'us-east-1', '1',"
            " now(), now(), 'ok', 1, 0, 0, 'l' from range(20000) t(i)"
        )
        connection.execute("insert into ivs_realtime._dlt_loads values ('l', 0)")
    report = subprocess.Popen(
        [sys.executable, "-m", "ivs_replicas.cli", "report", "scans", "--db", str(database)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert report.stdout is not None
    report.stdout.readline()
    report.stdout.close()
    _, err = report.communicate(timeout=120)
    assert report.returncode == 0, err
    assert err == b""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)
def test_a_signal_mid_run_exits_128_plus_its_number_and_the_next_run_resumes(
    start_emulator: StartFn, tmp_path: Path, signum: int, exit_code: int
) -> None:
    scenario = generate_scenario(participants=12, replicas_per_participant=[3])
    emulator = start_emulator(scenario, Faults(latency_ms=150))
    write_participants(scenario, tmp_path / "participants.csv")
    process = start_run(emulator, tmp_path)
    deadline = time.monotonic() + 60
    while emulator.stats.total_requests < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == exit_code, err
    # Besides progress lines (one every 10 s on a slow machine), one line says what happened.
    said = [line for line in err.strip().splitlines() if not line.startswith("progress ")]
    assert said == [
        f"interrupted by {signal.Signals(signum).name}: what was loaded stays, the next run resumes"
    ]
    emulator.set_faults(Faults())
    code, _, err = finish(start_run(emulator, tmp_path))
    assert code == 0, err
    scanned = query(
        tmp_path / "replicas.duckdb",
        "select count(distinct participant_id) from ivs_realtime.participant_scans"
        " where status = 'ok'",
    )
    assert scanned == [(12,)]


def test_a_clock_behind_the_latest_scan_stops_the_run_before_any_call(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=[1]))
    run_against(emulator)
    store = DuckDbFile(database.resolve())
    with duckdb.connect(str(store.working_database)) as connection:
        connection.execute(
            "update ivs_realtime.participant_scans set scanned_at = now() + interval 2 hour"
        )
    emulator.reset_stats()
    with pytest.raises(FatalRunError, match=r"clock .* is behind the latest stored scan"):
        run_against(emulator)
    assert emulator.stats.total_requests == 0
