"""The HTTP endpoint: AWS-shaped errors, the SigV4 region check, admin endpoints and stats."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from ivs_realtime_emulator import Emulator, Faults, generate_scenario

from .conftest import ClientFactory
from .support import EU_STAGE, US_STAGE, raw_post, signed_headers

LPR_PATH = "/ListParticipantReplicas"


def error_of(call: Any, **params: Any) -> dict[str, Any]:
    """Call and return the ClientError response."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response


def test_bad_arn_and_max_results_are_rejected_by_the_server(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    client = make_client(emulator, parameter_validation=False)
    response = error_of(
        client.list_participant_replicas,
        sourceStageArn="arn:aws:ivs:us-east-1:123456789012:channel/abc",
        participantId="alice",
    )
    assert response["Error"]["Code"] == "ValidationException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "at 'sourceStageArn'" in response["exceptionMessage"]
    response = error_of(
        client.list_participant_replicas,
        sourceStageArn=US_STAGE,
        participantId="alice",
        maxResults=51,
    )
    assert response["Error"]["Code"] == "ValidationException"
    assert "Value '51' at 'maxResults'" in response["exceptionMessage"]
    assert "less than or equal to 50" in response["exceptionMessage"]
    assert emulator.stats.validation_errors == 2


def test_error_body_has_the_members_of_the_model_shape(emulator: Emulator) -> None:
    body = json.dumps({"sourceStageArn": US_STAGE}).encode()
    status, headers, payload = raw_post(emulator, LPR_PATH, body, signed_headers())
    assert status == 400
    assert headers["x-amzn-errortype"] == "ValidationException"
    assert payload == {
        "exceptionMessage": "1 validation error detected: Value null at 'participantId' "
        "failed to satisfy constraint: Member must not be null"
    }


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_request_bodies(emulator: Emulator, body: bytes) -> None:
    status, headers, payload = raw_post(emulator, LPR_PATH, body, signed_headers())
    assert status == 400
    assert headers["x-amzn-errortype"] in ("SerializationException", "ValidationException")
    assert payload


def test_unsigned_requests_are_refused(emulator: Emulator) -> None:
    body = json.dumps({"sourceStageArn": US_STAGE, "participantId": "alice"}).encode()
    status, headers, payload = raw_post(emulator, LPR_PATH, body)
    assert status == 403
    assert headers["x-amzn-errortype"] == "UnrecognizedClientException"
    assert payload["message"]
    assert emulator.stats.auth_failures == 1
    assert emulator.requests[0].region is None


def test_rejected_access_keys(small_scenario: Any, make_client: ClientFactory) -> None:
    faults = Faults(rejected_access_key_ids=frozenset({"AKIDREVOKED"}))
    with Emulator(small_scenario, faults=faults) as emu:
        ok = make_client(emu).list_participant_replicas(
            sourceStageArn=US_STAGE, participantId="alice"
        )
        assert ok["replicas"]
        bad = make_client(emu, access_key="AKIDREVOKED")
        response = error_of(
            bad.list_participant_replicas, sourceStageArn=US_STAGE, participantId="alice"
        )
    assert response["Error"]["Code"] == "UnrecognizedClientException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Message"] == "The security token included in the request is invalid."
    assert "secret-not-sent" not in json.dumps(response, default=str)


def test_region_mismatch_is_rejected_and_counted(
    emulator: Emulator, make_client: ClientFactory
) -> None:
    eu_client = make_client(emulator, region="eu-west-1")
    response = error_of(
        eu_client.list_participant_replicas, sourceStageArn=US_STAGE, participantId="alice"
    )
    assert response["Error"]["Code"] == "ValidationException"
    message = response["exceptionMessage"]
    assert "us-east-1" in message
    assert "eu-west-1" in message
    assert emulator.stats.region_mismatches == 1
    ok = eu_client.list_participant_replicas(sourceStageArn=EU_STAGE, participantId="alice")
    assert len(ok["replicas"]) == 1
    assert emulator.stats.region_mismatches == 1
    assert emulator.stats.by_region == {"eu-west-1": 2}


def test_unknown_paths(emulator: Emulator) -> None:
    status, headers, _ = raw_post(emulator, "/CreateStage", b"{}", signed_headers())
    assert status == 404
    assert headers["x-amzn-errortype"] == "UnknownOperationException"
    status, _, _ = raw_post(emulator, "/_emulator/explode", b"")
    assert status == 404


def test_admin_endpoints(emulator: Emulator, make_client: ClientFactory) -> None:
    make_client(emulator).list_participant_replicas(sourceStageArn=US_STAGE, participantId="bob")
    with urllib.request.urlopen(emulator.url + "/_emulator/state", timeout=5) as response:
        state = json.load(response)
    assert state["epoch"] == 0
    assert state["scenario"] == "small"
    assert state["stats"]["by_operation"] == {"ListParticipantReplicas": 1}
    status, _, payload = raw_post(emulator, "/_emulator/advance", b"")
    assert (status, payload) == (200, {"epoch": 1})
    assert emulator.epoch == 1
    status, _, _ = raw_post(emulator, "/_emulator/reset_stats", b"")
    assert status == 200
    assert emulator.stats.total_requests == 0
    status, _, payload = raw_post(emulator, "/_emulator/faults", b'{"latency_ms": 2}')
    assert (status, payload) == (200, {"faults": {"latency_ms": 2.0}})
    assert emulator.faults.latency_ms == 2.0
    status, _, payload = raw_post(emulator, "/_emulator/faults", b'{"latency": 2}')
    assert status == 400
    assert "unknown fault setting" in payload["message"]


def test_stats_and_request_log(emulator: Emulator, make_client: ClientFactory) -> None:
    client = make_client(emulator)
    client.list_participant_replicas(sourceStageArn=US_STAGE, participantId="alice")
    client.list_participant_replicas(sourceStageArn=US_STAGE, participantId="bob", maxResults=3)
    operation, region, params = emulator.requests[1]
    assert (operation, region) == ("ListParticipantReplicas", "us-east-1")
    assert params == {"sourceStageArn": US_STAGE, "participantId": "bob", "maxResults": 3}
    snapshot = emulator.stats.snapshot()
    assert snapshot["by_operation"] == {"ListParticipantReplicas": 2}
    assert snapshot["items_served"] == 2
    emulator.reset_stats()
    assert emulator.requests == []
    assert emulator.stats.snapshot()["total_requests"] == 0


def test_stop_closes_kept_alive_connections(
    small_scenario: Any, make_client: ClientFactory
) -> None:
    emu = Emulator(small_scenario).start()
    client = make_client(emu, retries={"mode": "standard", "total_max_attempts": 1})
    client.list_participant_replicas(sourceStageArn=US_STAGE, participantId="alice")
    emu.stop()
    emu.stop()
    with pytest.raises(BotoCoreError):
        client.list_participant_replicas(sourceStageArn=US_STAGE, participantId="alice")
    with pytest.raises(RuntimeError):
        _ = emu.url


def test_concurrent_clients_get_consistent_pages(make_client: ClientFactory) -> None:
    scenario = generate_scenario(48, [0, 40, 120], regions=("us-east-1", "eu-west-1"))
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors: list[BaseException] = []
    with Emulator(scenario) as emu:

        def scan(refs: list[dict[str, str]]) -> None:
            try:
                clients = {r: make_client(emu, region=r) for r in ("us-east-1", "eu-west-1")}
                for ref in refs:
                    client = clients[ref["source_stage_arn"].split(":")[3]]
                    pages = client.get_paginator("list_participant_replicas").paginate(
                        sourceStageArn=ref["source_stage_arn"], participantId=ref["participant_id"]
                    )
                    key = (ref["source_stage_arn"], ref["participant_id"])
                    results[key] = [r for page in pages for r in page["replicas"]]
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        refs = scenario.participant_refs()
        threads = [threading.Thread(target=scan, args=(refs[i::12],)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = emu.stats.total_requests
    assert errors == []
    assert sum(len(rows) for rows in results.values()) == len(scenario.expected_replicas(0))
    assert total == sum(max(1, -(-len(rows) // 50)) for rows in results.values())
