"""Pages through botocore's paginator: an unreadable page is called again with its own token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from ivs_realtime_emulator import Emulator, Faults, generate_scenario
from ivs_replicas.sources.ivs_realtime.paging import MalformedPageError, iterate_responses
from ivs_replicas.sources.ivs_realtime.scan import (
    REPLICAS_AS_SENT,
    MalformedReplicaError,
    keep_replicas_as_sent,
)

from ..helpers import FAKE_KEY_ID, FAKE_SECRET

StartFn = Callable[..., Emulator]


@pytest.fixture
def three_pages(start_emulator: StartFn) -> tuple[Emulator, Any, dict[str, str]]:
    """An endpoint with one participant of 120 replicas (3 pages of 50), and a client of it."""
    emulator = start_emulator(generate_scenario(participants=1, replicas_per_participant=120))
    client = boto3.client(
        "ivs-realtime",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
    )
    ref = emulator.scenario.participant_refs()[0]
    return (
        emulator,
        client,
        {"sourceStageArn": ref["source_stage_arn"], "participantId": ref["participant_id"]},
    )


def tokens_sent(emulator: Emulator) -> list[str | None]:
    """The nextToken of every request the endpoint received, in order."""
    return [record.params.get("nextToken") for record in emulator.requests]


def test_an_unreadable_page_is_called_again_with_its_own_token(
    three_pages: tuple[Emulator, Any, dict[str, str]],
) -> None:
    emulator, client, params = three_pages
    retries: list[None] = []
    pages = iterate_responses(
        client,
        "ListParticipantReplicas",
        "replicas",
        50,
        10,
        3,
        lambda: retries.append(None),
        **params,
    )
    first = next(pages)
    emulator.set_faults(Faults(fail_first={"malformed": 2}))  # the next two answers are cut short
    rest = list(pages)
    first_token, second_token = first["nextToken"], rest[0]["nextToken"]
    assert [len(page["replicas"]) for page in [first, *rest]] == [50, 50, 20]
    assert tokens_sent(emulator) == [None, first_token, first_token, first_token, second_token]
    assert len(retries) == 2


def test_a_page_unreadable_on_every_call_fails_after_its_reads(
    three_pages: tuple[Emulator, Any, dict[str, str]],
) -> None:
    emulator, client, params = three_pages
    pages = iterate_responses(client, "ListParticipantReplicas", "replicas", 50, 10, 3, **params)
    first = next(pages)
    emulator.set_faults(Faults(malformed_rate=1.0))
    with pytest.raises(MalformedPageError, match="page 2 has no replicas list"):
        list(pages)
    assert tokens_sent(emulator) == [None, *[first["nextToken"]] * 3]


def response(body: bytes, status: int = 200) -> dict[str, Any]:
    """A response as botocore hands it to `before-parse` hooks."""
    return {"status_code": status, "headers": {}, "body": body}


def test_replicas_are_kept_as_sent_beside_botocores_parse() -> None:
    kept: dict[str, Any] = {}
    body = b'{"replicas":[{"replicationState":null,"tier":"gold"}],"nextToken":"t"}'
    keep_replicas_as_sent(response_dict=response(body), customized_response_dict=kept)
    assert kept == {REPLICAS_AS_SENT: [{"replicationState": None, "tier": "gold"}]}


@pytest.mark.parametrize(
    "body",
    [b'{"replicas":[{"sourceStageArn":"arn:aws:ivs:', b'{"message":"x"}', b""],
    ids=["cut-short", "error-body", "empty"],
)
def test_an_answer_without_a_replica_list_is_left_to_botocore(body: bytes) -> None:
    kept: dict[str, Any] = {}
    keep_replicas_as_sent(response_dict=response(body), customized_response_dict=kept)
    assert kept == {}


def test_replicas_that_botocore_could_not_parse_fail_clearly() -> None:
    """botocore's parser raises AttributeError on these; the scan gets errors it records."""
    with pytest.raises(MalformedReplicaError, match=r"replica 2 .* it is a number, not an object"):
        keep_replicas_as_sent(
            response_dict=response(b'{"replicas":[{},7]}'), customized_response_dict={}
        )
    with pytest.raises(MalformedPageError, match="replicas is a string, not a list"):
        keep_replicas_as_sent(
            response_dict=response(b'{"replicas":"x"}'), customized_response_dict={}
        )
