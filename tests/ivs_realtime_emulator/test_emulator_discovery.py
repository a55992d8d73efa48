"""ListStages, ListStageSessions, ListParticipants and ListParticipantEvents, consistent with
the replicas of the scenario."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from ivs_realtime_emulator import (
    Emulator,
    Faults,
    Scenario,
    generate_scenario,
    load_demo_scenario,
    parse_scenario,
)
from ivs_realtime_emulator.service import Service

from .conftest import ClientFactory
from .support import signed_headers

ACCOUNT = "123456789012"
SRC = f"arn:aws:ivs:us-east-1:{ACCOUNT}:stage/source01"
SRC2 = f"arn:aws:ivs:us-east-1:{ACCOUNT}:stage/source02"
DST1 = f"arn:aws:ivs:us-east-1:{ACCOUNT}:stage/dest01"
DST2 = f"arn:aws:ivs:us-east-1:{ACCOUNT}:stage/dest02"
EU_SRC = f"arn:aws:ivs:eu-west-1:{ACCOUNT}:stage/euSource01"
EU_DST = f"arn:aws:ivs:eu-west-1:{ACCOUNT}:stage/euDest01"
S1, S2 = "st-SOURCE0000001", "st-SOURCE0000002"
D1, D2 = "st-DEST000000001", "st-DEST000000002"
START = datetime(2026, 11, 30, tzinfo=UTC)


def _replica(session: str, stage: str, dest_session: str, states: list[str | None]) -> dict:
    """One scenario-file replica."""
    return {
        "source_session_id": session,
        "destination_stage_arn": stage,
        "destination_session_id": dest_session,
        "states": states,
    }


@pytest.fixture
def scenario() -> Scenario:
    """Two source stages replicating into shared destinations over four epochs."""
    return parse_scenario(
        {
            "name": "discovery",
            "epochs": 4,
            "start_time": "2026-11-30T00:00:00Z",
            "epoch_seconds": 60,
            "participants": [
                {
                    "source_stage_arn": SRC,
                    "participant_id": "pub",
                    "user_id": "user-pub",
                    "replicas": [
                        _replica(S1, DST1, D1, ["ACTIVE", "STOPPED", "ACTIVE", None]),
                        _replica(S1, DST2, D2, [None, "ACTIVE"]),
                    ],
                },
                {"source_stage_arn": SRC, "participant_id": "quiet", "published": False},
                {"source_stage_arn": SRC, "participant_id": "idle"},
                {
                    "source_stage_arn": SRC2,
                    "participant_id": "solo",
                    "replicas": [_replica(S2, DST1, D1, ["ACTIVE", "ACTIVE", None])],
                },
                {
                    "source_stage_arn": EU_SRC,
                    "participant_id": "pub",
                    "replicas": [
                        _replica("st-EUSOURCE00001", EU_DST, "st-EUDEST0000001", ["ACTIVE"])
                    ],
                },
            ],
            "stages": [{"arn": SRC, "name": "main-source", "tags": {"team": "live"}}],
        }
    )


@pytest.fixture
def emu(scenario: Scenario) -> Iterator[Emulator]:
    """The discovery scenario, served."""
    with Emulator(scenario) as running:
        yield running


def at(minutes: int, seconds: int = 0) -> datetime:
    """The UTC time of a minute offset from the scenario start."""
    return START + timedelta(minutes=minutes, seconds=seconds)


def test_list_stages_is_regional_sorted_and_paged(
    emu: Emulator, make_client: ClientFactory
) -> None:
    client = make_client(emu)
    stages = client.list_stages()["stages"]
    assert [s["arn"] for s in stages] == [DST1, DST2, SRC, SRC2]
    source = stages[2]
    assert (source["name"], source["tags"], source["activeSessionId"]) == (
        "main-source",
        {"team": "live"},
        S1,
    )
    assert stages[0]["name"] == "dest01"
    eu = make_client(emu, region="eu-west-1").list_stages()["stages"]
    assert [s["arn"] for s in eu] == [EU_DST, EU_SRC]
    emu.reset_stats()
    paged: list[str] = []
    token = None
    while True:
        kwargs = {"maxResults": 1, **({"nextToken": token} if token else {})}
        page = client.list_stages(**kwargs)
        paged += [s["arn"] for s in page["stages"]]
        token = page.get("nextToken")
        if not token:
            break
    assert paged == [DST1, DST2, SRC, SRC2]
    assert emu.stats.by_operation == {"ListStages": 4}


def test_sessions_start_and_end_with_their_replicas(
    emu: Emulator, make_client: ClientFactory
) -> None:
    client = make_client(emu)

    def sessions(stage: str) -> list[tuple[str, datetime, datetime | None]]:
        found = client.list_stage_sessions(stageArn=stage)["stageSessions"]
        return [(s["sessionId"], s["startTime"], s.get("endTime")) for s in found]

    assert sessions(SRC2) == [(S2, at(0), None)]
    assert sessions(DST2) == []  # nothing has landed in dest02 yet
    emu.advance()
    assert sessions(DST2) == [(D2, at(1), None)]
    emu.advance()
    assert sessions(SRC2) == [(S2, at(0), at(2))]  # solo's only replica disappeared
    stages = {s["arn"]: s for s in client.list_stages()["stages"]}
    assert "activeSessionId" not in stages[SRC2]
    assert stages[SRC]["activeSessionId"] == S1


def _participants(client: Any, stage: str, session: str, **filters: Any) -> dict[str, dict]:
    """ListParticipants as a dict keyed by participant id."""
    found = client.list_participants(stageArn=stage, sessionId=session, **filters)
    return {p["participantId"]: p for p in found["participants"]}


def test_source_session_participants(emu: Emulator, make_client: ClientFactory) -> None:
    client = make_client(emu)
    people = _participants(client, SRC, S1)
    assert list(people) == ["pub", "quiet", "idle"]
    pub = people["pub"]
    assert pub["replicationType"] == "SOURCE"
    assert pub["published"] is True
    assert (pub["state"], pub["replicationState"], pub["userId"]) == (
        "CONNECTED",
        "ACTIVE",
        "user-pub",
    )
    assert pub["firstJoinTime"] == at(0)
    assert people["quiet"]["replicationType"] == "NONE"
    assert "replicationState" not in people["quiet"]
    assert list(_participants(client, SRC, S1, filterByPublished=True)) == ["pub", "idle"]
    assert list(_participants(client, SRC, S1, filterByPublished=False)) == ["quiet"]
    assert list(_participants(client, SRC, S1, filterByUserId="user-pub")) == ["pub"]
    assert _participants(client, SRC, "st-UNKNOWN000001") == {}


def test_destination_participants_are_replicas(emu: Emulator, make_client: ClientFactory) -> None:
    client = make_client(emu)
    people = _participants(client, DST1, D1)
    assert list(people) == ["pub", "solo"]
    pub = people["pub"]
    assert (pub["replicationType"], pub["state"], pub["replicationState"]) == (
        "REPLICA",
        "CONNECTED",
        "ACTIVE",
    )
    assert (pub["sourceStageArn"], pub["sourceSessionId"]) == (SRC, S1)
    assert people["solo"]["sourceStageArn"] == SRC2
    emu.advance()
    people = _participants(client, DST1, D1)
    assert (people["pub"]["state"], people["pub"]["replicationState"]) == (
        "DISCONNECTED",
        "STOPPED",
    )
    assert list(_participants(client, DST1, D1, filterByState="CONNECTED")) == ["solo"]


def test_one_filter_per_request(emu: Emulator, make_client: ClientFactory) -> None:
    with pytest.raises(ClientError) as caught:
        make_client(emu).list_participants(
            stageArn=SRC, sessionId=S1, filterByPublished=True, filterByState="CONNECTED"
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Only one of" in caught.value.response["exceptionMessage"]


def _events(client: Any, stage: str, session: str, participant: str) -> list[tuple]:
    """ListParticipantEvents as (name, time, destination stage, replica) tuples."""
    found = client.list_participant_events(
        stageArn=stage, sessionId=session, participantId=participant
    )["events"]
    return [(e["name"], e["eventTime"], e.get("destinationStageArn"), e["replica"]) for e in found]


def test_source_events_follow_replica_starts_and_stops(
    emu: Emulator, make_client: ClientFactory
) -> None:
    client = make_client(emu)
    assert _events(client, SRC, S1, "pub") == [("REPLICATION_STARTED", at(0), DST1, False)]
    emu.advance(3)
    assert _events(client, SRC, S1, "pub") == [
        ("REPLICATION_STARTED", at(0), DST1, False),
        ("REPLICATION_STOPPED", at(1), DST1, False),
        ("REPLICATION_STARTED", at(1), DST2, False),
        ("REPLICATION_STARTED", at(2), DST1, False),
        ("REPLICATION_STOPPED", at(3), DST1, False),
    ]
    assert _events(client, DST1, D1, "pub") == [
        ("JOINED", at(0), None, True),
        ("LEFT", at(1), None, True),
        ("JOINED", at(2), None, True),
        ("LEFT", at(3), None, True),
    ]
    assert _events(client, SRC, S1, "idle") == [("JOINED", at(0), None, False)]
    assert _events(client, SRC, S1, "nobody") == []


def test_discovery_inputs_are_validated_by_the_server(
    emu: Emulator, make_client: ClientFactory
) -> None:
    client = make_client(emu, parameter_validation=False)
    calls = [
        (client.list_stages, {"maxResults": 101}),
        (client.list_stage_sessions, {"stageArn": "arn:aws:ivs:us-east-1:1:channel/x"}),
        (client.list_participants, {"stageArn": SRC, "sessionId": "st-short"}),
        (client.list_participants, {"stageArn": SRC, "sessionId": S1, "filterByState": "GONE"}),
        (client.list_participant_events, {"stageArn": SRC, "sessionId": S1}),
        (client.list_participant_events, {**_ids(), "nextToken": "forged"}),
    ]
    for call, params in calls:
        with pytest.raises(ClientError) as caught:
            call(**params)
        assert caught.value.response["Error"]["Code"] == "ValidationException", params
    assert emu.stats.validation_errors == len(calls)
    assert client.list_stages(maxResults=100)["stages"]


def _ids() -> dict[str, str]:
    """Valid ListParticipantEvents parameters."""
    return {"stageArn": SRC, "sessionId": S1, "participantId": "pub"}


def test_discovery_region_check_access_and_quota(
    scenario: Scenario, make_client: ClientFactory
) -> None:
    faults = Faults(
        access_denied_stages=frozenset({SRC2}),
        operation_requests_per_second={"ListStageSessions": 0.01},
        error_rate=1.0,
        fault_operations=frozenset({"ListParticipantEvents"}),
    )
    with Emulator(scenario, faults=faults) as emu:
        client = make_client(emu, retries={"mode": "standard", "total_max_attempts": 1})
        codes = []
        for call, params in [
            (client.list_participants, {"stageArn": EU_SRC, "sessionId": S1}),
            (client.list_participants, {"stageArn": SRC2, "sessionId": S2}),
            (client.list_stage_sessions, {"stageArn": SRC}),
            (client.list_stage_sessions, {"stageArn": SRC}),
            (client.list_participant_events, _ids()),
        ]:
            try:
                call(**params)
                codes.append("ok")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        assert client.list_stages()["stages"]
        assert emu.stats.region_mismatches == 1
    assert codes[:4] == [
        "ValidationException",
        "AccessDeniedException",
        "ok",
        "ThrottlingException",
    ]
    assert codes[4] in ("InternalServerException", "ServiceUnavailableException")


def test_generated_scenarios_have_a_topology(make_client: ClientFactory) -> None:
    scenario = generate_scenario(12, [2, 0], participants_per_stage=6)
    with Emulator(scenario) as emu:
        client = make_client(emu)
        arns = [s["arn"] for s in client.list_stages()["stages"]]
        assert [a.rsplit("/", 1)[1] for a in arns] == [
            "dst000000",
            "dst000001",
            "src000000",
            "src000001",
        ]
        session = client.list_stage_sessions(stageArn=arns[0])["stageSessions"][0]["sessionId"]
        landed = _participants(client, arns[0], session)
        source = client.list_stage_sessions(stageArn=arns[2])["stageSessions"][0]["sessionId"]
        members = _participants(client, arns[2], source)
    assert len(landed) == 6
    assert {p["replicationType"] for p in landed.values()} == {"REPLICA"}
    assert [members[p]["replicationType"] for p in sorted(members)] == ["SOURCE", "NONE"] * 3


# ---- consistency with ListParticipantReplicas, on the demo scenario (in process) --------------


def _call(svc: Service, operation: str, region: str, **params: Any) -> list[dict[str, Any]]:
    """Call an operation through the full request path and follow every page."""
    items: list[dict[str, Any]] = []
    while True:
        reply = svc.handle(
            "POST", f"/{operation}", signed_headers(region), json.dumps(params).encode()
        )
        assert reply.status == 200, reply.body
        body = json.loads(reply.body)
        items += next(v for k, v in body.items() if k != "nextToken")
        if "nextToken" not in body:
            return items
        params["nextToken"] = body["nextToken"]


def _replay(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Replay replication events into the set of ACTIVE (destination stage, session)."""
    active: set[tuple[str, str]] = set()
    for e in events:
        key = (e["destinationStageArn"], e["destinationSessionId"])
        if e["name"] == "REPLICATION_STARTED":
            active.add(key)
        elif e["name"] == "REPLICATION_STOPPED":
            active.discard(key)
    return active


def test_demo_discovery_is_consistent_with_replicas() -> None:
    demo = load_demo_scenario()
    svc = Service(demo)
    checked = 0
    for epoch in range(demo.epochs):
        for p in demo.participants:
            region = p.source_stage_arn.split(":")[3]
            replicas = _call(
                svc,
                "ListParticipantReplicas",
                region,
                sourceStageArn=p.source_stage_arn,
                participantId=p.participant_id,
            )
            for session in {r["sourceSessionId"] for r in replicas}:
                mine = [r for r in replicas if r["sourceSessionId"] == session]
                people = _call(
                    svc, "ListParticipants", region, stageArn=p.source_stage_arn, sessionId=session
                )
                me = next(x for x in people if x["participantId"] == p.participant_id)
                assert (me["replicationType"], me["published"]) == ("SOURCE", True)
                events = _call(
                    svc,
                    "ListParticipantEvents",
                    region,
                    stageArn=p.source_stage_arn,
                    sessionId=session,
                    participantId=p.participant_id,
                )
                active = {
                    (r["destinationStageArn"], r["destinationSessionId"])
                    for r in mine
                    if r["replicationState"] == "ACTIVE"
                }
                assert _replay(events) == active, (epoch, p.participant_id)
                checked += 1
            for r in replicas[:3]:
                landed = _call(
                    svc,
                    "ListParticipants",
                    region,
                    stageArn=r["destinationStageArn"],
                    sessionId=r["destinationSessionId"],
                )
                copy = next(x for x in landed if x["participantId"] == p.participant_id)
                assert copy["replicationType"] == "REPLICA"
                assert copy["sourceStageArn"] == p.source_stage_arn
                assert (copy["state"] == "CONNECTED") == (r["replicationState"] == "ACTIVE")
        svc.advance()
    assert checked >= 100
