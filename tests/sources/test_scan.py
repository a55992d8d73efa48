"""One participant's scan, checked against botocore's Stubber (shapes from the service model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.scan import API_FIELDS, ReplicaRow, scan_participant
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
    assert ReplicaRow._fields == tuple(API_FIELDS.values())
    assert ReplicaRow._fields[: len(REPLICA_KEY)] == REPLICA_KEY
