"""Participants from config and files: valid entries load, every bad entry is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ivs_replicas.sources.ivs_realtime import participants
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


PAIR = [Participant(STAGE, "pub-1"), Participant(OTHER_STAGE, "pub-2")]


@pytest.mark.parametrize(
    "content",
    [
        f"\ufeffsource_stage_arn,participant_id\r\n{STAGE},pub-1\r\n{OTHER_STAGE},pub-2\r\n",
        "\ufeff"
        + "".join(
            json.dumps({"source_stage_arn": p.source_stage_arn, "participant_id": p.participant_id})
            + "\n"
            for p in PAIR
        ),
        json.dumps(
            [
                {"source_stage_arn": p.source_stage_arn, "participant_id": p.participant_id}
                for p in PAIR
            ],
            indent=2,
        ),
        json.dumps(
            [
                {"source_stage_arn": p.source_stage_arn, "participant_id": p.participant_id}
                for p in PAIR
            ]
        ),
    ],
    ids=["csv-utf8-with-bom", "json-lines-with-bom", "json-array", "json-array-on-one-line"],
)
def test_other_common_shapes_of_the_file_are_read(tmp_path: Path, content: str) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(content.encode())
    assert read_participants_file(path) == PAIR


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (
            f'source_stage_arn,participant_id\n{STAGE},"pub\n1"\n',
            r"p.txt:2: a quoted field runs over a line break \(lines 2-3\)",
        ),
        (f'source_stage_arn,participant_id\n{STAGE},"pub-1\n', "p.txt:2: not valid CSV"),
        (f"source_stage_arn,participant_id\n{STAGE},{'x' * 200_000}\n", "p.txt:2: line is longer"),
        (
            f"source_stage_arn,participant_id\n{STAGE},pub\v1\n{STAGE},pub 2\n",
            r"p.txt:2: participant_id 'pub\\x0b1'.*\n.*p.txt:3: participant_id 'pub 2'",
        ),
        (f"source_stage_arn,participant_id\r{STAGE},pub-1\r", "p.txt:1: not valid CSV"),
        (
            f"source_stage_arn,participant_id\n{STAGE},pub-1\n{STAGE},caf\xe9\n".encode("latin-1"),
            "p.txt:3: not UTF-8",
        ),
        (
            json.dumps([{"source_stage_arn": STAGE, "participant_id": "pub-1"}, 3], indent=1),
            r"p.txt:6 \[1\]: expected a JSON object",
        ),
        (
            f'[\n{{"source_stage_arn": "{STAGE}", "participant_id": "p 1"}}\n]',
            r"p.txt:2 \[0\]: participant_id 'p 1'",
        ),
        ('[\n{"source_stage_arn": "x"}\n{}\n]', "p.txt:3: not valid JSON"),
        (f"{STAGE},pub-1\n", "p.txt:1: CSV header must include.*or give JSON"),
    ],
    ids=[
        "line-break-in-quoted-field",
        "unclosed-quote",
        "field-longer-than-a-line-may-be",
        "vertical-tab-keeps-line-numbers",
        "carriage-returns-only",
        "not-utf8",
        "json-array-item-not-an-object",
        "json-array-bad-item",
        "json-array-syntax",
        "no-header",
    ],
)
def test_bad_files_are_refused_naming_file_and_line(
    tmp_path: Path, content: str | bytes, named: str
) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InvalidSourceInput, match=named):
        read_participants_file(path)


def test_a_long_value_is_shown_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f"source_stage_arn,participant_id\n{STAGE},{'x' * 10_000}\n")
    with pytest.raises(InvalidSourceInput, match=r"\(10000 characters\)") as caught:
        read_participants_file(path)
    assert len(str(caught.value)) < 500


def test_a_file_over_the_size_cap_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(participants, "MAX_FILE_BYTES", 1_000)
    path = tmp_path / "p.csv"
    path.write_text(f"source_stage_arn,participant_id\n{STAGE},pub-1\n" * 20)
    with pytest.raises(InvalidSourceInput, match=r"p.csv is larger than"):
        read_participants_file(path)
