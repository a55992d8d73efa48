"""ListParticipantReplicas over loopback HTTP with real boto3 clients and paginators."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from ivs_realtime_emulator import Emulator, Scenario, generate_scenario

from .conftest import ClientFactory
from .support import EU_STAGE, US_STAGE

TOKEN_RE = re.compile(r"[a-zA-Z0-9+/=_-]*")
SNAKE = {
    "sourceStageArn": "source_stage_arn",
    "participantId": "participant_id",
    "sourceSessionId": "source_session_id",
    "destinationStageArn": "destination_stage_arn",
    "destinationSessionId": "destination_session_id",
    "replicationState": "replication_state",
}


def snake(replicas: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Convert wire replicas to the scenario's snake_case rows."""
    return [{SNAKE[k]: v for k, v in r.items()} for r in replicas]


def paginate(client: Any, stage: str, participant: str, **config: Any) -> list[dict[str, Any]]:
    """Return every page the botocore paginator fetches."""
    paginator = client.get_paginator("list_participant_replicas")
    pages = paginator.paginate(
        sourceStageArn=stage, participantId=participant, PaginationConfig=config
    )
    return list(pages)


@pytest.mark.parametrize("count", [0, 1, 50, 51, 1000])
def test_paginator_reads_every_replica_with_exact_calls(
    make_client: ClientFactory, count: int
) -> None:
    scenario = generate_scenario(1, count)
    ref = scenario.participant_refs()[0]
    with Emulator(scenario) as emu:
        pages = paginate(make_client(emu), ref["source_stage_arn"], ref["participant_id"])
        calls = emu.requests
    replicas = [r for page in pages for r in page["replicas"]]
    assert snake(replicas) == scenario.expected_replicas(0)
    expected_calls = max(1, math.ceil(count / 50))
    assert [len(page["replicas"]) for page in pages] == [
        min(50, count - 50 * i) for i in range(expected_calls)
    ]
    assert [c.operation for c in calls] == ["ListParticipantReplicas"] * expected_calls
    assert all(c.region == "us-east-1" for c in calls)
    assert "nextToken" not in calls[0].params
    sent = [c.params["nextToken"] for c in calls[1:]]
    received = [page["nextToken"] for page in pages[:-1]]
    assert sent == received
    assert len(set(sent)) == len(sent)
    assert "nextToken" not in pages[-1]
    for token in sent:
        assert TOKEN_RE.fullmatch(token)
        assert len(token) <= 1024
    assert all(c.params["sourceStageArn"] == ref["source_stage_arn"] for c in calls)


def test_max_results_is_respected(make_client: ClientFactory) -> None:
    scenario = generate_scenario(1, 23)
    ref = scenario.participant_refs()[0]
    with Emulator(scenario) as emu:
        pages = paginate(
            make_client(emu), ref["source_stage_arn"], ref["participant_id"], PageSize=7
        )
        calls = emu.requests
    assert [len(p["replicas"]) for p in pages] == [7, 7, 7, 2]
    assert [c.params["maxResults"] for c in calls] == [7, 7, 7, 7]


def test_unknown_participant_has_no_replicas(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    response = make_client(emulator).list_participant_replicas(
        sourceStageArn=US_STAGE, participantId="nobody"
    )
    assert response["replicas"] == []
    assert "nextToken" not in response


def _first_token(client: Any, stage: str, participant: str) -> str:
    """Return the nextToken of the first page of 1 replica."""
    page = client.list_participant_replicas(
        sourceStageArn=stage, participantId=participant, maxResults=1
    )
    return str(page["nextToken"])


def _flip(token: str) -> str:
    """Change one character of a token, keeping it within the model's pattern."""
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


@pytest.mark.parametrize("mangle", [_flip, lambda t: "forged", lambda t: t[:-4], lambda t: "AAAA"])
def test_forged_or_tampered_tokens_are_rejected(
    emulator: Emulator, make_client: ClientFactory, mangle: Any
) -> None:
    client = make_client(emulator)
    token = _first_token(client, US_STAGE, "alice")
    with pytest.raises(ClientError) as caught:
        client.list_participant_replicas(
            sourceStageArn=US_STAGE, participantId="alice", nextToken=mangle(token)
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "nextToken" in caught.value.response["exceptionMessage"]


def test_token_of_another_participant_is_rejected(
    small_scenario: Scenario, make_client: ClientFactory
) -> None:
    scenario = generate_scenario(2, 5)
    a, b = scenario.participant_refs()
    with Emulator(scenario) as emu:
        client = make_client(emu)
        token = _first_token(client, a["source_stage_arn"], a["participant_id"])
        with pytest.raises(ClientError) as caught:
            client.list_participant_replicas(
                sourceStageArn=b["source_stage_arn"],
                participantId=b["participant_id"],
                nextToken=token,
            )
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_token_of_another_server_instance_is_rejected(make_client: ClientFactory) -> None:
    scenario = generate_scenario(1, 5)
    ref = scenario.participant_refs()[0]
    with Emulator(scenario) as first:
        token = _first_token(make_client(first), ref["source_stage_arn"], ref["participant_id"])
    with Emulator(scenario) as second, pytest.raises(ClientError) as caught:
        make_client(second).list_participant_replicas(
            sourceStageArn=ref["source_stage_arn"],
            participantId=ref["participant_id"],
            nextToken=token,
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_epochs_change_what_is_listed(emulator: Emulator, make_client: ClientFactory) -> None:
    client = make_client(emulator)

    def listed() -> list[dict[str, str]]:
        pages = paginate(client, US_STAGE, "alice")
        return snake([r for page in pages for r in page["replicas"]])

    def truth(epoch: int) -> list[dict[str, str]]:
        rows = emulator.scenario.expected_replicas(epoch)
        return [r for r in rows if r["source_stage_arn"] == US_STAGE]

    assert emulator.epoch == 0
    assert listed() == truth(0)
    assert emulator.advance() == 1
    assert listed() == truth(1)
    assert truth(1) != truth(0)
    emulator.advance()
    assert listed() == truth(2)
    emulator.advance()
    assert listed() == truth(2)  # states past the end keep their last value


def test_paging_is_stable_within_the_epoch_a_listing_started_in(
    make_client: ClientFactory,
) -> None:
    scenario = generate_scenario(1, 120, epochs=3, change_rate=0.6, seed=3)
    ref = scenario.participant_refs()[0]
    stage, participant = ref["source_stage_arn"], ref["participant_id"]
    with Emulator(scenario) as emu:
        client = make_client(emu)
        first = client.list_participant_replicas(sourceStageArn=stage, participantId=participant)
        emu.advance(2)
        rest = paginate(client, stage, participant, StartingToken=first["nextToken"])
        fresh = paginate(client, stage, participant)
    resumed = first["replicas"] + [r for page in rest for r in page["replicas"]]
    assert snake(resumed) == scenario.expected_replicas(0)
    assert snake([r for page in fresh for r in page["replicas"]]) == scenario.expected_replicas(2)
    assert scenario.expected_replicas(0) != scenario.expected_replicas(2)


def test_same_participant_id_on_two_stages(emulator: Emulator, make_client: ClientFactory) -> None:
    us = make_client(emulator).list_participant_replicas(
        sourceStageArn=US_STAGE, participantId="alice"
    )
    eu = make_client(emulator, region="eu-west-1").list_participant_replicas(
        sourceStageArn=EU_STAGE, participantId="alice"
    )
    assert {r["sourceStageArn"] for r in us["replicas"]} == {US_STAGE}
    assert {r["sourceStageArn"] for r in eu["replicas"]} == {EU_STAGE}
    assert len(eu["replicas"]) == 1
