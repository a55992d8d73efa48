"""One participant's scan, checked against botocore's Stubber (shapes from the service model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.scan import (
    API_FIELDS,
    MalformedReplicaError,
    ReplicaRow,
    replica_model,
    replica_rows,
    scan_participant,
)
from ivs_replicas.sources.ivs_realtime.settings import REPLICA_KEY

STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456"
DEST = "arn:aws:ivs:us-east-1:123456789012:stage/Dest00000001"
PARTICIPANT = Participant(STAGE, "pub-1")


def replica(number: int, state: str = "ACTIVE") -> dict[str, str]:
    """An API replica into destination session number `number`."""
    return {
        "sourceStageArn": STAGE,
        "participantId": "pub-1",
        "sourceSessionId": "st-a1b2c3d4e5f6g",
        "destinationStageArn": DEST,
        "destinationSessionId": f"st-{number:013d}",
        "replicationState": state,
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "ivs-realtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect(
    stubber: Stubber, replicas: list[dict[str, str]], token: str | None, sent: str | None
) -> None:
    """Queue one page, expecting the request to carry `sent` as nextToken."""
    params: dict[str, Any] = {"sourceStageArn": STAGE, "participantId": "pub-1", "maxResults": 50}
    if sent:
        params["nextToken"] = sent
    response: dict[str, Any] = {"replicas": replicas}
    if token:
        response["nextToken"] = token
    stubber.add_response("list_participant_replicas", response, params)


def test_pages_are_followed_and_rows_snake_cased(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, [replica(1)], "t1", None)
    expect(stubber, [replica(2, "STOPPED")], None, "t1")
    result = scan_participant(client, PARTICIPANT, "run-1", page_size=50, max_pages=10)
    assert (result.status, result.pages) == ("ok", 2)
    assert result.rows[1]._asdict() == {
        "source_stage_arn": STAGE,
        "participant_id": "pub-1",
        "source_session_id": "st-a1b2c3d4e5f6g",
        "destination_stage_arn": DEST,
        "destination_session_id": "st-0000000000002",
        "replication_state": "STOPPED",
        "unknown_fields": None,
    }
    assert result.scanned_at <= result.finished_at
    assert result.scanned_at.tzinfo is not None


def test_empty_page_with_token_does_not_end_the_scan(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, [], "t1", None)
    expect(stubber, [replica(1)], None, "t1")
    result = scan_participant(client, PARTICIPANT, "run-1", page_size=50, max_pages=10)
    assert (result.pages, len(result.rows)) == (2, 1)


def test_replica_repeated_across_pages_is_kept_once(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, [replica(1), replica(2)], "t1", None)
    expect(stubber, [replica(2), replica(3)], None, "t1")
    result = scan_participant(client, PARTICIPANT, "run-1", page_size=50, max_pages=10)
    assert [row.destination_session_id[-1] for row in result.rows] == ["1", "2", "3"]
    assert result.duplicates == 1


def test_cycling_tokens_fail_the_participant(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, [replica(1)], "t1", None)
    expect(stubber, [replica(2)], "t2", "t1")
    expect(stubber, [replica(3)], "t1", "t2")
    result = scan_participant(client, PARTICIPANT, "run-1", page_size=50, max_pages=100)
    assert (result.status, result.error_code, result.rows) == ("failed", "PaginationError", [])
    assert "cycles" in (result.error_message or "")


def test_page_cap_fails_the_participant(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, [replica(1)], "t1", None)
    expect(stubber, [replica(2)], "t2", "t1")
    result = scan_participant(client, PARTICIPANT, "run-1", page_size=50, max_pages=2)
    assert (result.status, result.error_code, result.pages) == ("failed", "PaginationError", 2)
    assert "max_pages" in (result.error_message or "")


def test_error_after_first_page_keeps_no_partial_rows(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    expect(stubber, [replica(1)], "t1", None)
    stubber.add_client_error(
        "list_participant_replicas", "AccessDeniedException", "not allowed", http_status_code=403
    )
    result = scan_participant(client, PARTICIPANT, "run-1", page_size=50, max_pages=10)
    assert (result.status, result.rows) == ("failed", [])
    assert (result.error_code, result.error_message) == ("AccessDeniedException", "not allowed")
    assert result.ledger_row()["replica_count"] == 0


def test_replica_row_fields_follow_the_api_fields_and_the_replica_key() -> None:
    """Columns are built by position, so the row's field order is the schema's order."""
    assert ReplicaRow._fields == (*API_FIELDS.values(), "unknown_fields")
    assert ReplicaRow._fields[: len(REPLICA_KEY)] == REPLICA_KEY


def test_the_loaded_fields_are_the_service_models_replica_members() -> None:
    """A member botocore's model adds must become a column, not vanish unnoticed."""
    model = replica_model()
    assert model.members == set(API_FIELDS) == set(model.required)
    assert model.enums == {"replicationState": {"ACTIVE", "STOPPED"}}


def with_fields(**changes: object) -> dict[str, object]:
    """An API replica with members changed; a value of ... removes the member."""
    changed: dict[str, object] = {**replica(1), **changes}
    return {name: value for name, value in changed.items() if value is not ...}


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (with_fields(replicationState=None), "replicationState is null"),
        (with_fields(destinationSessionId=...), "destinationSessionId is missing"),
        (with_fields(replicationState=3), r"replicationState is a number \(3\), not a string"),
        (with_fields(participantId={"id": "x"}), "participantId is an object"),
        (with_fields(replicationState="PAUSED"), 'replicationState is "PAUSED", not one of'),
        (None, "replica 2 does not match the service model: it is null, not an object"),
    ],
    ids=["null", "missing", "number", "object", "unknown-state", "not-an-object"],
)
def test_a_replica_unlike_the_service_model_is_refused_naming_the_field(
    bad: object, named: str
) -> None:
    with pytest.raises(MalformedReplicaError, match=named) as refused:
        list(replica_rows([replica(1), bad, replica(3)], set(), set()))
    assert refused.value.code == "MalformedReplica"
    assert str(refused.value).startswith("replica 2 ")


def test_members_the_model_does_not_know_are_kept_as_json() -> None:
    names: set[str] = set()
    drifted = {**replica(2), "tier": "gold", "hops": [1, 2]}
    rows = list(replica_rows([replica(1), drifted], set(), names))
    assert [row.unknown_fields for row in rows] == [None, '{"hops":[1,2],"tier":"gold"}']
    assert rows[1].replication_state == "ACTIVE"
    assert names == {"tier", "hops"}


def test_a_malformed_replica_fails_its_scan_with_the_page_and_field(
    stubbed: tuple[Any, Stubber],
) -> None:
    """botocore's Stubber checks types but not enums: a state the model does not list."""
    client, stubber = stubbed
    expect(stubber, [replica(1)], "t1", None)
    expect(stubber, [replica(2), replica(3, "PAUSED")], None, "t1")
    result = scan_participant(client, PARTICIPANT, "run-1", page_size=50, max_pages=10)
    assert (result.status, result.error_code, result.rows) == ("failed", "MalformedReplica", [])
    assert result.error_message == (
        'page 2, replica 2 does not match the service model: replicationState is "PAUSED", '
        "not one of ACTIVE, STOPPED"
    )
