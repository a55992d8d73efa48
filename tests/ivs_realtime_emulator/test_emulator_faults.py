"""Every fault kind is observable by a real boto3 client and counted in the stats."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    PaginationError,
    ReadTimeoutError,
)
from ivs_realtime_emulator import Emulator, Faults, FaultsError, Scenario, generate_scenario
from ivs_realtime_emulator.faults import FaultPicker, Quotas

from .conftest import ClientFactory
from .support import EU_STAGE, US_STAGE, raw_post, signed_headers

ALICE = {"sourceStageArn": US_STAGE, "participantId": "alice"}
BOB = {"sourceStageArn": US_STAGE, "participantId": "bob"}


def one_attempt(make_client: ClientFactory, emu: Emulator, **config: Any) -> Any:
    """A client that never retries."""
    return make_client(emu, retries={"mode": "standard", "total_max_attempts": 1}, **config)


def code_of(call: Any, **params: Any) -> str:
    """Return the error code a call fails with."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    return str(caught.value.response["Error"]["Code"])


# ---- settings ----------------------------------------------------------------------------------


def test_faults_from_dict_and_overrides() -> None:
    faults = Faults.from_dict({"error_rate": 0.25, "access_denied_stages": [US_STAGE]})
    assert faults.error_rate == 0.25
    assert faults.access_denied_stages == frozenset({US_STAGE})
    merged = faults.with_overrides({"latency_ms": 10, "error_rate": None, "seed": 4})
    assert (merged.latency_ms, merged.error_rate, merged.seed) == (10.0, 0.25, 4)
    assert Faults.from_dict(merged.to_dict()) == merged
    assert Faults().to_dict() == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"drop_rate": -0.1}, "faults.drop_rate: expected a non-negative number"),
        ({"requests_per_second": 0}, "expected a positive number"),
        ({"cycle_participants": "alice"}, "expected a list of strings"),
        ({"fail_first": {"error": -1}}, "expected a non-negative integer"),
        ({"latency_ms": "fast"}, "expected a number"),
    ],
)
def test_bad_fault_settings(data: dict[str, Any], message: str) -> None:
    with pytest.raises(FaultsError, match=message):
        Faults.from_dict(data)


def test_quotas_are_per_region_and_operation() -> None:
    quotas = Quotas(
        Faults(requests_per_second=0.5, operation_requests_per_second={"ListStages": 100.0})
    )
    assert quotas.allow("us-east-1", "ListParticipantReplicas")
    assert not quotas.allow("us-east-1", "ListParticipantReplicas")
    assert quotas.allow("eu-west-1", "ListParticipantReplicas")
    assert all(quotas.allow("us-east-1", "ListStages") for _ in range(50))
    assert Quotas(Faults()).allow("us-east-1", "ListStages")


def test_fault_picker_is_seeded() -> None:
    faults = Faults(error_rate=0.2, drop_rate=0.1, slow_rate=0.1, malformed_rate=0.1, seed=9)
    first = [FaultPicker(faults).pick() for _ in range(1)]
    picker_a, picker_b = FaultPicker(faults), FaultPicker(faults)
    run_a = [picker_a.pick() for _ in range(300)]
    run_b = [picker_b.pick() for _ in range(300)]
    assert run_a == run_b
    assert first[0] == run_a[0]
    kinds = Counter(run_a)
    assert set(kinds) == {None, "error", "unavailable", "drop", "slow", "malformed"}
    assert 0.35 < kinds[None] / 300 < 0.65


def test_fail_first_comes_before_random_faults() -> None:
    picker = FaultPicker(Faults(fail_first={"drop": 1, "error": 2}))
    assert [picker.pick() for _ in range(5)] == ["error", "error", "drop", None, None]


# ---- over the wire -----------------------------------------------------------------------------


def test_latency_is_added_to_every_request(
    small_scenario: Scenario, make_client: ClientFactory
) -> None:
    with Emulator(small_scenario, faults=Faults(latency_ms=40)) as emu:
        client = make_client(emu)
        started = time.monotonic()
        client.list_participant_replicas(**ALICE)
        client.list_participant_replicas(**BOB)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.08  # a lower bound only: sleeps never end early


def test_quota_answers_429_and_boto3_retries_it(
    small_scenario: Scenario, make_client: ClientFactory
) -> None:
    with Emulator(small_scenario, faults=Faults(requests_per_second=0.01)) as emu:
        client = make_client(emu, retries={"mode": "standard", "total_max_attempts": 3})
        client.list_participant_replicas(**ALICE)
        with pytest.raises(ClientError) as caught:
            client.list_participant_replicas(**BOB)
        eu = make_client(emu, region="eu-west-1")
        assert eu.list_participant_replicas(sourceStageArn=EU_STAGE, participantId="alice")
        stats = emu.stats
    response = caught.value.response
    assert response["Error"]["Code"] == "ThrottlingException"
    assert response["Error"]["Message"] == "Rate exceeded"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert stats.throttled == 3
    assert stats.by_region == {"us-east-1": 4, "eu-west-1": 1}


def test_first_n_throttles_are_retried_to_success(
    small_scenario: Scenario, make_client: ClientFactory
) -> None:
    with Emulator(small_scenario, faults=Faults(fail_first={"throttle": 2})) as emu:
        response = make_client(emu).list_participant_replicas(**ALICE)
        assert emu.stats.throttled == 2
        assert emu.stats.faults == {"throttle": 2}
        assert len(emu.requests) == 3
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(response["replicas"]) == 2


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("error", "InternalServerException", 500),
        ("unavailable", "ServiceUnavailableException", 503),
    ],
)
def test_server_errors(
    small_scenario: Scenario, make_client: ClientFactory, kind: str, code: str, status: int
) -> None:
    with Emulator(small_scenario, faults=Faults(fail_first={kind: 3})) as emu:
        with pytest.raises(ClientError) as caught:
            one_attempt(make_client, emu).list_participant_replicas(**ALICE)
        retried = make_client(emu).list_participant_replicas(**ALICE)
        assert emu.stats.faults == {kind: 3}
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert retried["ResponseMetadata"]["RetryAttempts"] == 2


def test_error_rate_is_seeded_and_counted(
    small_scenario: Scenario, make_client: ClientFactory
) -> None:
    def outcomes() -> tuple[list[str], dict[str, int]]:
        faults = Faults(error_rate=0.4, seed=11)
        with Emulator(small_scenario, faults=faults) as emu:
            client = one_attempt(make_client, emu)
            seen = []
            for _ in range(30):
                try:
                    client.list_participant_replicas(**ALICE)
                    seen.append("ok")
                except ClientError as exc:
                    seen.append(exc.response["Error"]["Code"])
            return seen, emu.stats.faults

    first, stats = outcomes()
    again, _ = outcomes()
    assert first == again
    counts = Counter(first)
    assert set(counts) == {"ok", "InternalServerException", "ServiceUnavailableException"}
    assert stats == {
        "error": counts["InternalServerException"],
        "unavailable": counts["ServiceUnavailableException"],
    }


def test_dropped_connections(small_scenario: Scenario, make_client: ClientFactory) -> None:
    with Emulator(small_scenario, faults=Faults(fail_first={"drop": 2})) as emu:
        with pytest.raises(ConnectionClosedError):
            one_attempt(make_client, emu).list_participant_replicas(**ALICE)
        response = make_client(emu).list_participant_replicas(**ALICE)
        assert emu.stats.faults == {"drop": 2}
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(response["replicas"]) == 2


def test_slow_responses_exceed_the_read_timeout(
    small_scenario: Scenario, make_client: ClientFactory
) -> None:
    faults = Faults(fail_first={"slow": 2}, slow_ms=3000)
    with Emulator(small_scenario, faults=faults) as emu:
        with pytest.raises(ReadTimeoutError):
            one_attempt(make_client, emu, read_timeout=0.5).list_participant_replicas(**ALICE)
        response = make_client(emu, read_timeout=0.5).list_participant_replicas(**ALICE)
        assert emu.stats.faults == {"slow": 2}
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_malformed_200_bodies(small_scenario: Scenario, make_client: ClientFactory) -> None:
    with Emulator(small_scenario, faults=Faults(fail_first={"malformed": 1})) as emu:
        client = make_client(emu)
        broken = client.list_participant_replicas(**ALICE)
        fine = client.list_participant_replicas(**ALICE)
        assert emu.stats.faults == {"malformed": 1}
    assert broken["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "replicas" not in broken  # botocore cannot parse the body
    assert "nextToken" not in broken
    assert len(fine["replicas"]) == 2


def test_access_denied_stages(small_scenario: Scenario, make_client: ClientFactory) -> None:
    faults = Faults(access_denied_stages=frozenset({US_STAGE}))
    with Emulator(small_scenario, faults=faults) as emu:
        with pytest.raises(ClientError) as caught:
            make_client(emu).list_participant_replicas(**ALICE)
        eu = make_client(emu, region="eu-west-1")
        assert eu.list_participant_replicas(sourceStageArn=EU_STAGE, participantId="alice")
        assert emu.stats.access_denied == 1
    response = caught.value.response
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert US_STAGE in response["exceptionMessage"]


def test_access_denied_by_operation(small_scenario: Scenario, make_client: ClientFactory) -> None:
    faults = Faults.from_dict({"access_denied_by_operation": {"ListStageSessions": [US_STAGE]}})
    assert Faults.from_dict(faults.to_dict()) == faults
    with Emulator(small_scenario, faults=faults) as emu:
        client = one_attempt(make_client, emu)
        denied = code_of(client.list_stage_sessions, stageArn=US_STAGE)
        assert client.list_participants(stageArn=US_STAGE, sessionId="st-SRC0000000001")
        assert client.list_participant_replicas(**ALICE)["replicas"]
        eu = one_attempt(make_client, emu, region="eu-west-1")
        assert eu.list_stage_sessions(stageArn=EU_STAGE)["stageSessions"]
        assert emu.stats.access_denied == 1
    assert denied == "AccessDeniedException"


def test_faults_can_target_stages(small_scenario: Scenario, make_client: ClientFactory) -> None:
    faults = Faults(
        error_rate=1.0,
        fault_stages=frozenset({US_STAGE}),
        fault_operations=frozenset({"ListParticipants"}),
    )
    with Emulator(small_scenario, faults=faults) as emu:
        us = one_attempt(make_client, emu)
        eu = one_attempt(make_client, emu, region="eu-west-1")
        failed = code_of(us.list_participants, stageArn=US_STAGE, sessionId="st-SRC0000000001")
        assert eu.list_participants(stageArn=EU_STAGE, sessionId="st-SRC0000000002")
        assert us.list_stage_sessions(stageArn=US_STAGE)["stageSessions"]
        assert us.list_stages()["stages"]
    assert failed in ("InternalServerException", "ServiceUnavailableException")


def _scan(client: Any, stage: str, participant: str, **config: Any) -> list[dict[str, Any]]:
    """Read every replica with the botocore paginator."""
    pages = client.get_paginator("list_participant_replicas").paginate(
        sourceStageArn=stage, participantId=participant, PaginationConfig=config
    )
    return [r for page in pages for r in page["replicas"]]


@pytest.mark.parametrize("name", ["p-000000", "{stage}/p-000000"])
def test_cycling_tokens(make_client: ClientFactory, name: str) -> None:
    scenario = generate_scenario(2, 120)
    a, b = scenario.participant_refs()
    faults = Faults(cycle_participants=frozenset({name.format(stage=a["source_stage_arn"])}))
    with Emulator(scenario, faults=faults) as emu:
        client = make_client(emu)
        with pytest.raises(PaginationError, match="same next token"):
            _scan(client, a["source_stage_arn"], a["participant_id"])
        assert len(_scan(client, b["source_stage_arn"], b["participant_id"])) == 120
        first = client.list_participant_replicas(
            sourceStageArn=a["source_stage_arn"], participantId=a["participant_id"]
        )
        second = client.list_participant_replicas(
            sourceStageArn=a["source_stage_arn"],
            participantId=a["participant_id"],
            nextToken=first["nextToken"],
        )
        third = client.list_participant_replicas(
            sourceStageArn=a["source_stage_arn"],
            participantId=a["participant_id"],
            nextToken=second["nextToken"],
        )
        assert emu.stats.faults["cycle"] >= 3
    assert first["nextToken"] == second["nextToken"] == third["nextToken"]


def test_empty_first_page_still_carries_a_token(make_client: ClientFactory) -> None:
    scenario = generate_scenario(1, 60)
    ref = scenario.participant_refs()[0]
    faults = Faults(empty_page_participants=frozenset({ref["participant_id"]}))
    with Emulator(scenario, faults=faults) as emu:
        rows = _scan(make_client(emu), ref["source_stage_arn"], ref["participant_id"])
        calls = emu.requests
        assert emu.stats.faults == {"empty_page": 1}
    assert len(rows) == 60
    assert len(calls) == 3  # empty page, 50, 10


def test_duplicates_across_pages(make_client: ClientFactory) -> None:
    scenario = generate_scenario(1, 120)
    ref = scenario.participant_refs()[0]
    faults = Faults(duplicate_across_pages=frozenset({ref["participant_id"]}))
    with Emulator(scenario, faults=faults) as emu:
        rows = _scan(make_client(emu), ref["source_stage_arn"], ref["participant_id"])
        assert emu.stats.faults == {"duplicate": 2}
    keys = [r["destinationStageArn"] for r in rows]
    assert len(keys) == 122
    assert keys[49] == keys[50]
    assert keys[99] == keys[100]
    assert len(set(keys)) == 120


def test_faults_can_target_participants(
    small_scenario: Scenario, make_client: ClientFactory
) -> None:
    faults = Faults(error_rate=1.0, fault_participants=frozenset({"bob"}))
    with Emulator(small_scenario, faults=faults) as emu:
        client = one_attempt(make_client, emu)
        assert client.list_participant_replicas(**ALICE)["replicas"]
        assert code_of(client.list_participant_replicas, **BOB) in (
            "InternalServerException",
            "ServiceUnavailableException",
        )


def test_faults_change_at_runtime(emulator: Emulator, make_client: ClientFactory) -> None:
    client = make_client(emulator)
    assert client.list_participant_replicas(**ALICE)["ResponseMetadata"]["RetryAttempts"] == 0
    emulator.set_faults(Faults(fail_first={"error": 1}))
    assert emulator.faults.fail_first == {"error": 1}
    assert client.list_participant_replicas(**ALICE)["ResponseMetadata"]["RetryAttempts"] == 1
    assert client.list_participant_replicas(**ALICE)["ResponseMetadata"]["RetryAttempts"] == 0
    assert emulator.stats.faults == {"error": 1}
    emulator.reset_stats()
    assert emulator.stats.faults == {}


def test_schema_drift_unknown_members_and_null_states() -> None:
    scenario = generate_scenario(2, 60)
    drifting, malformed = (ref["participant_id"] for ref in scenario.participant_refs())
    faults = Faults(
        unknown_field_participants=frozenset({drifting}),
        malformed_replica_participants=frozenset({malformed}),
    )
    with Emulator(scenario, faults=faults) as emu:
        pages = {
            ref["participant_id"]: raw_post(
                emu,
                "/ListParticipantReplicas",
                json.dumps(
                    {
                        "sourceStageArn": ref["source_stage_arn"],
                        "participantId": ref["participant_id"],
                    }
                ).encode(),
                signed_headers(),
            )[2]["replicas"]
            for ref in scenario.participant_refs()
        }
        assert emu.stats.faults == {"unknown_field": 1, "malformed_replica": 1}
    assert {replica["replicationTier"] for replica in pages[drifting]} == {"STANDARD"}
    assert [replica["replicationState"] for replica in pages[malformed]][:2] == [None, "ACTIVE"]
    assert "replicationTier" not in pages[malformed][0]
