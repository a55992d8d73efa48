"""The command line as a user runs it: bad input exits 2, names the problem, writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
