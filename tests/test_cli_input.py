"""The command line as a user runs it: bad input exits 2, names the problem, writes nothing."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from ivs_replicas import cli
from ivs_replicas.errors import EXIT_BAD_INPUT

STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456"


def ivs_replicas(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script in a subprocess."""
    script = Path(sys.executable).with_name("ivs-replicas")
    return subprocess.run(
        [str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **(env or {})},
        check=False,
    )


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
    tmp_path: Path, content: str, named: str
) -> None:
    (tmp_path / "participants.csv").write_text(content)
    result = ivs_replicas("run", "--participants", "participants.csv", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ivs_replicas.duckdb").exists()


def test_bad_setting_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "participants.csv").write_text(f"source_stage_arn,participant_id\n{STAGE},pub-1\n")
    result = ivs_replicas(
        "run",
        "--participants",
        "participants.csv",
        cwd=tmp_path,
        env={"SOURCES__IVS_REALTIME__PAGE_SIZE": "51"},
    )
    assert result.returncode == 2, result.stderr
    assert "page_size is 51" in result.stderr
    assert not (tmp_path / "ivs_replicas.duckdb").exists()


def test_unknown_config_key_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        f'[sources.ivs_realtime]\npage_sise = 10\nparticipants = [{{source_stage_arn = "{STAGE}", participant_id = "p"}}]\n'
    )
    result = ivs_replicas("run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "page_sise" in result.stderr


def test_wrong_type_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        f'[sources.ivs_realtime]\nrequests_per_second = "fast"\nparticipants = [{{source_stage_arn = "{STAGE}", participant_id = "p"}}]\n'
    )
    result = ivs_replicas("run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "requests_per_second" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_participants_exits_2(tmp_path: Path) -> None:
    result = ivs_replicas("run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "no participants configured" in result.stderr


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
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes,
    line: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "participants.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code = cli.main(["run", "--participants", str(path), "--db", "replicas.duckdb"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert f"{path}:{line}" in err
    assert "Traceback" not in err
    assert len(err) < 2_000
    assert not (tmp_path / "replicas.duckdb").exists()


def test_an_endless_participants_file_exits_2_at_once_naming_it(tmp_path: Path) -> None:
    # Memory is capped, so reading the whole of /dev/zero fails instead of filling the machine.
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
