"""The command line as a user runs it: bad input exits 2, names the problem, writes nothing.

In-process (`cli.main`), like sqlite-utils' CliRunner: these commands stop before any process,
lock or signal matters, so a subprocess would only add start-up time. The one subprocess caps
its memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, generate_scenario

from .helpers import Invocation, RunFn, query

STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456"
ONE_PARTICIPANT = f'participants = [{{source_stage_arn = "{STAGE}", participant_id = "p"}}]\n'

Invoke = Callable[..., Invocation]


def files_in(folder: Path) -> list[str]:
    """Every file under a folder, as relative paths."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def write_config(project: Path, settings: str) -> None:
    """A .dlt/config.toml with a [sources.ivs_realtime] section, in the project folder."""
    (project / ".dlt").mkdir()
    (project / ".dlt" / "config.toml").write_text(f"[sources.ivs_realtime]\n{settings}")


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("source_stage_arn,participant_id\nnot-an-arn,pub-1\n", "participants.csv:2"),
        (f"source_stage_arn,participant_id\n{STAGE},pub_1!\n", "participants.csv:2"),
        ("", "is empty"),
    ],
    ids=["malformed-arn", "bad-participant-id", "empty-file"],
)
def test_bad_participants_file_exits_2_and_writes_nothing(
    ivs_replicas: Invoke, tmp_path: Path, content: str, named: str
) -> None:
    (tmp_path / "participants.csv").write_text(content)
    result = ivs_replicas("run", "--participants", "participants.csv")
    assert result.exit_code == 2, result.err
    assert named in result.err
    assert "Traceback" not in result.err
    assert files_in(tmp_path) == ["participants.csv"]


def test_bad_setting_exits_2_naming_it(
    ivs_replicas: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "participants.csv").write_text(f"source_stage_arn,participant_id\n{STAGE},pub-1\n")
    monkeypatch.setenv("SOURCES__IVS_REALTIME__PAGE_SIZE", "51")
    result = ivs_replicas("run", "--participants", "participants.csv")
    assert result.exit_code == 2, result.err
    assert "page_size is 51" in result.err
    assert files_in(tmp_path) == ["participants.csv"]


def test_unknown_config_key_exits_2_naming_it(ivs_replicas: Invoke, tmp_path: Path) -> None:
    write_config(tmp_path, f"page_sise = 10\n{ONE_PARTICIPANT}")
    result = ivs_replicas("run")
    assert result.exit_code == 2, result.err
    assert "page_sise" in result.err
    assert files_in(tmp_path) == [".dlt/config.toml"]


def test_wrong_type_exits_2_naming_it(ivs_replicas: Invoke, tmp_path: Path) -> None:
    write_config(tmp_path, f'requests_per_second = "fast"\n{ONE_PARTICIPANT}')
    result = ivs_replicas("run")
    assert result.exit_code == 2, result.err
    assert "requests_per_second" in result.err
    assert "Traceback" not in result.err
    assert files_in(tmp_path) == [".dlt/config.toml"]


def test_no_participants_exits_2(ivs_replicas: Invoke, tmp_path: Path) -> None:
    result = ivs_replicas("run")
    assert result.exit_code == 2, result.err
    assert "no participants configured" in result.err
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (f'source_stage_arn,participant_id\n{STAGE},"pub\n1"\n', 2),
        (f"source_stage_arn,participant_id\n{STAGE},{'x' * 10_000_000}\n", 2),
        (f"source_stage_arn,participant_id\n{STAGE},pub-1\v{STAGE},pub_1!\n", 2),
        (f"source_stage_arn,participant_id\n{STAGE},pub-1\n{STAGE},p\xe9\n".encode("latin-1"), 3),
        (json.dumps([{"source_stage_arn": STAGE, "participant_id": "pub-1"}, []], indent=0), 6),
    ],
    ids=[
        "line-break-in-quoted-field",
        "ten-megabyte-field",
        "vertical-tab",
        "not-utf8",
        "json-array-item-not-an-object",
    ],
)
def test_bad_participants_file_exits_2_naming_file_and_line(
    ivs_replicas: Invoke, tmp_path: Path, content: str | bytes, line: int
) -> None:
    path = tmp_path / "participants.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = ivs_replicas("run", "--participants", str(path), "--db", "replicas.duckdb")
    assert result.exit_code == 2, result.err
    assert f"{path}:{line}" in result.err
    assert "Traceback" not in result.err
    assert len(result.err) < 2_000
    assert files_in(tmp_path) == ["participants.csv"]


@pytest.mark.slow
def test_an_endless_participants_file_exits_2_at_once_naming_it(tmp_path: Path) -> None:
    # A subprocess, for its memory cap: reading the whole of /dev/zero fails instead of
    # filling the machine.
    script = Path(sys.executable).with_name("ivs-replicas")
    result = subprocess.run(
        [str(script), "run", "--participants", "/dev/zero", "--db", "replicas.duckdb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30)),
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "participants file /dev/zero is larger than" in result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under the folder with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def made_by_run(database: Path, run: Callable[[], object]) -> None:
    """A database a scheduled run made."""
    run()


def work_folder_of_a_run(database: Path, run: Callable[[], object]) -> None:
    """A run's work folder, its database moved away: what is pending there is the run's."""
    run()
    database.rename(database.with_name("moved.duckdb"))


def not_a_database(database: Path, run: Callable[[], object]) -> None:
    """A text file under the name."""
    database.write_text("notes\n")


@pytest.mark.parametrize(
    "make",
    [made_by_run, work_folder_of_a_run, not_a_database],
    ids=["made-by-run", "work-folder-of-a-run", "not-a-database"],
)
def test_demo_refuses_a_database_it_did_not_make_and_leaves_it_as_it_is(
    ivs_replicas: Invoke,
    start_emulator: Callable[..., Emulator],
    run_against: RunFn,
    database: Path,
    tmp_path: Path,
    make: Callable[[Path, Callable[[], object]], None],
) -> None:
    emulator = start_emulator(generate_scenario(participants=3, replicas_per_participant=2))
    make(database, lambda: run_against(emulator))
    before = snapshot(tmp_path)
    result = ivs_replicas("demo", "--db", str(database), "--runs", "1")
    assert result.exit_code == 2, result.err
    assert "choose another --db" in result.err
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_demo_replaces_its_own_database_until_a_run_adds_to_it(
    ivs_replicas: Invoke,
    start_emulator: Callable[..., Emulator],
    run_against: RunFn,
    database: Path,
    tmp_path: Path,
) -> None:
    ledger = "select distinct run_id from ivs_realtime.participant_scans"
    assert ivs_replicas("demo", "--db", str(database), "--runs", "1").exit_code == 0
    first = query(database, ledger)
    assert ivs_replicas("demo", "--db", str(database), "--runs", "1").exit_code == 0
    second = query(database, ledger)
    assert len(second) == 1
    assert second != first

    emulator = start_emulator(generate_scenario(participants=3, replicas_per_participant=2))
    run_against(emulator)
    before = snapshot(tmp_path)
    result = ivs_replicas("demo", "--db", str(database), "--runs", "1")
    assert result.exit_code == 2, result.err
    assert "1 run(s) the demo did not make" in result.err
    assert snapshot(tmp_path) == before
