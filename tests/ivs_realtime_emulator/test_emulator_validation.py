"""Request validation: botocore's own validator, plus the service-side checks it leaves out."""

from __future__ import annotations

from typing import Any

import pytest
from ivs_realtime_emulator import model
from ivs_realtime_emulator.validation import InputValidator, problems_for, summarize

from .support import US_STAGE

LPR = model.LIST_PARTICIPANT_REPLICAS


@pytest.fixture(scope="module")
def validator() -> InputValidator:
    """A validator for every served operation."""
    return InputValidator()


def lpr(**overrides: Any) -> dict[str, Any]:
    """Valid ListParticipantReplicas params with overrides."""
    return {"sourceStageArn": US_STAGE, "participantId": "alice", **overrides}


def test_valid_params_have_no_problems(validator: InputValidator) -> None:
    assert validator.problems(LPR, lpr(maxResults=50, nextToken="abc_-+/=")) == []


def test_unknown_members_are_ignored_like_aws(validator: InputValidator) -> None:
    assert validator.problems(LPR, lpr(somethingNew=123)) == []


@pytest.mark.parametrize(
    "params",
    [{"sourceStageArn": US_STAGE}, lpr(participantId=None)],
    ids=["missing", "null"],
)
def test_required_members(validator: InputValidator, params: dict[str, Any]) -> None:
    assert validator.problems(LPR, params) == [
        "Value null at 'participantId' failed to satisfy constraint: Member must not be null"
    ]


def test_null_optional_members_are_absent(validator: InputValidator) -> None:
    assert validator.problems(LPR, lpr(maxResults=None, nextToken=None)) == []


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            lpr(maxResults=51),
            "Value '51' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 50",
        ),
        (
            lpr(maxResults=0),
            "Value '0' at 'maxResults' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ),
        (
            lpr(maxResults=True),
            "Value 'True' at 'maxResults' failed to satisfy constraint: Member must be an integer",
        ),
        (
            lpr(participantId="p" * 65),
            f"Value '{'p' * 65}' at 'participantId' failed to satisfy "
            "constraint: Member must have length less than or equal to 64",
        ),
        (
            lpr(participantId="a b"),
            "Value 'a b' at 'participantId' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]*",
        ),
    ],
    ids=["max", "min", "boolean", "max-length", "pattern"],
)
def test_each_broken_constraint_is_reported_once(
    validator: InputValidator, params: dict[str, Any], problem: str
) -> None:
    # botocore checks minimums and types, this package maximums, patterns and enums:
    # should botocore start checking one of ours, this shows the duplicate.
    assert validator.problems(LPR, params) == [problem]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (
            lpr(maxResults=51),
            "at 'maxResults' failed to satisfy constraint: Member must have "
            "value less than or equal to 50",
        ),
        (lpr(maxResults=0), "Member must have value greater than or equal to 1"),
        (lpr(maxResults="5"), "Member must be an integer"),
        (lpr(maxResults=True), "Member must be an integer"),
        (lpr(maxResults=1.5), "Member must be an integer"),
        (lpr(sourceStageArn="arn:aws:ivs:us-east-1:1:channel/x"), "regular expression pattern"),
        (lpr(sourceStageArn=US_STAGE + "/extra"), "regular expression pattern"),
        (lpr(sourceStageArn="x" + US_STAGE), "regular expression pattern"),
        (lpr(sourceStageArn=""), "Member must have length greater than or equal to 1"),
        (lpr(participantId="p" * 65), "Member must have length less than or equal to 64"),
        (lpr(participantId="bad id"), "at 'participantId'"),
        (lpr(participantId=7), "Member must be a string"),
        (lpr(nextToken="not!valid"), "at 'nextToken'"),
        (lpr(nextToken="a" * 1025), "Member must have length less than or equal to 1024"),
    ],
)
def test_constraints_from_the_model(
    validator: InputValidator, params: dict[str, Any], fragment: str
) -> None:
    problems = validator.problems(LPR, params)
    assert problems
    assert any(fragment in p for p in problems), problems


def test_enum_and_boolean_members(validator: InputValidator) -> None:
    params = {
        "stageArn": US_STAGE,
        "sessionId": "st-AAAAAAAAAAAAA",
        "filterByState": "BOGUS",
        "filterByPublished": "yes",
    }
    problems = validator.problems(model.LIST_PARTICIPANTS, params)
    assert any("satisfy enum value set: [CONNECTED, DISCONNECTED]" in p for p in problems)
    assert any("at 'filterByPublished'" in p and "be a boolean" in p for p in problems)


def test_session_id_length_is_exactly_16(validator: InputValidator) -> None:
    params = {"stageArn": US_STAGE, "sessionId": "st-short"}
    problems = validator.problems(model.LIST_STAGE_SESSIONS, {"stageArn": US_STAGE})
    assert problems == []
    problems = validator.problems(model.LIST_PARTICIPANTS, params)
    assert problems == [
        "Value 'st-short' at 'sessionId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 16"
    ]


def test_body_must_be_an_object(validator: InputValidator) -> None:
    assert validator.problems(LPR, [1, 2]) == [
        "Value '[1, 2]' at 'body' failed to satisfy constraint: Member must be a structure"
    ]


def test_list_and_map_shapes() -> None:
    assert problems_for("ParticipantTokenCapabilities", ["PUBLISH"], "caps") == []
    too_many = problems_for("ParticipantTokenCapabilities", ["PUBLISH"] * 3, "caps")
    assert any("length less than or equal to 2" in p for p in too_many)
    wrong = problems_for("ParticipantTokenCapabilities", ["FLY"], "caps")
    assert wrong
    assert "at 'caps.1.member'" in wrong[0]
    tags = {f"k{i}": "v" for i in range(51)}
    assert any("length less than or equal to 50" in p for p in problems_for("Tags", tags, "tags"))
    assert problems_for("Tags", {"": "v"}, "tags")


def test_summary_counts_problems() -> None:
    assert summarize(["a"]) == "1 validation error detected: a"
    assert summarize(["a", "b"]) == "2 validation errors detected: a; b"
