"""The generic validator reads its rules from botocore's service model."""

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


def test_required_members(validator: InputValidator) -> None:
    problems = validator.problems(LPR, {"sourceStageArn": US_STAGE})
    assert problems == [
        "Value null at 'participantId' failed to satisfy constraint: Member must not be null"
    ]


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
