"""Participants from config and files: valid entries load, every bad entry is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ivs_replicas.sources.ivs_realtime.exceptions import InvalidSourceInput
from ivs_replicas.sources.ivs_realtime.participants import (
    Participant,
    read_participants_file,
    resolve_participants,
)

STAGE = "arn:aws:ivs:eu-west-1:123456789012:stage/AbCdEf123456"
OTHER_STAGE = "arn:aws:ivs:us-east-1:210987654321:stage/ZyXw98765"


def test_participant_knows_region_and_account() -> None:
    participant = Participant(STAGE, "pub-1")
    assert (participant.region, participant.account_id) == ("eu-west-1", "123456789012")


def test_csv_file_ignores_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        f"note,source_stage_arn,participant_id\nx,{STAGE},pub-1\n\ny,{OTHER_STAGE},pub-2\n"
    )
    assert read_participants_file(path) == [
        Participant(STAGE, "pub-1"),
        Participant(OTHER_STAGE, "pub-2"),
    ]


def test_json_lines_file(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [{"source_stage_arn": STAGE, "participant_id": "pub-1", "extra": 1}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert read_participants_file(path) == [Participant(STAGE, "pub-1")]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("source_stage_arn,participant_id\narn:aws:ivs:eu-west-1:1:bad,pub-1\n", "p.csv:2"),
        (f"source_stage_arn,participant_id\n{STAGE},pub 1\n", "p.csv:2"),
        (f"source_stage_arn,participant_id\n{STAGE},{'x' * 65}\n", "p.csv:2"),
        (f"source_stage_arn,participant_id\n{STAGE},pub-1\n{STAGE},\n", "p.csv:3"),
        (
            "source_stage_arn,participant_id\narn:aws:ivs:mars-north-1:123456789012:stage/abc,p\n",
            "mars-north-1",
        ),
        ("stage,participant\nx,y\n", "p.csv:1"),
        ("", "empty"),
        ("   \n\n", "empty"),
    ],
    ids=[
        "bad-arn",
        "bad-participant-chars",
        "participant-too-long",
        "missing-participant",
        "unknown-region",
        "wrong-header",
        "empty-file",
        "blank-file",
    ],
)
def test_bad_csv_entries_are_named(tmp_path: Path, content: str, named: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(content)
    with pytest.raises(InvalidSourceInput, match=named):
        read_participants_file(path)


def test_every_bad_line_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"source_stage_arn": "nope", "participant_id": "a"})
        + "\n{not json\n"
        + json.dumps({"source_stage_arn": STAGE, "participant_id": "ok"})
        + "\n[1]\n"
    )
    with pytest.raises(InvalidSourceInput) as caught:
        read_participants_file(path)
    assert [problem.split(":")[1] for problem in caught.value.problems] == ["2", "4"]
    path.write_text(json.dumps({"source_stage_arn": "nope", "participant_id": "a"}) + "\n")
    with pytest.raises(InvalidSourceInput, match=r"p.jsonl:1: source_stage_arn 'nope'"):
        read_participants_file(path)


def test_unreadable_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidSourceInput, match="cannot read participants file"):
        read_participants_file(tmp_path / "missing.csv")


def test_duplicates_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    entries = [{"source_stage_arn": STAGE, "participant_id": "pub-1"}] * 2
    assert resolve_participants(entries, None) == [Participant(STAGE, "pub-1")]
    assert "duplicate participant" in caplog.text


def test_same_participant_id_on_two_stages_are_two_participants() -> None:
    entries = [
        {"source_stage_arn": STAGE, "participant_id": "pub-1"},
        {"source_stage_arn": OTHER_STAGE, "participant_id": "pub-1"},
    ]
    assert len(resolve_participants(entries, None)) == 2


def test_config_entries_are_named_by_index() -> None:
    entries = [{"source_stage_arn": STAGE, "participant_id": "ok"}, {"participant_id": "x"}]
    with pytest.raises(InvalidSourceInput, match=r"participants\[1\]: missing 'source_stage_arn'"):
        resolve_participants(entries, None)


def test_no_participants_anywhere_is_bad_input() -> None:
    with pytest.raises(InvalidSourceInput, match="no participants configured"):
        resolve_participants(None, None)
