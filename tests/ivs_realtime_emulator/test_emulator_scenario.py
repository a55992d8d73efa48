"""Scenario files: loading, errors, ground truth, generated scenarios and the demo."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ivs_realtime_emulator import (
    DEMO_SCENARIO_PATH,
    Faults,
    Scenario,
    ScenarioError,
    generate_scenario,
    load_demo_scenario,
    load_scenario,
    parse_scenario,
    save_scenario,
    scenario_to_dict,
)
from ivs_realtime_emulator.scenario import stage_region

from .support import EU_STAGE, US_STAGE, replica, small_scenario_dict

SESSION_RE = re.compile(r"st-[a-zA-Z0-9]+")


def test_expected_replicas_follow_states_per_epoch(small_scenario: Scenario) -> None:
    def alice_us(epoch: int) -> list[tuple[str, str]]:
        rows = small_scenario.expected_replicas(epoch)
        return [
            (r["destination_stage_arn"][-8:], r["replication_state"])
            for r in rows
            if r["source_stage_arn"] == US_STAGE
        ]

    assert alice_us(0) == [("dst00001", "ACTIVE"), ("dst00003", "ACTIVE")]
    assert alice_us(1) == [("dst00001", "STOPPED"), ("dst00002", "ACTIVE"), ("dst00003", "ACTIVE")]
    assert alice_us(2) == [("dst00002", "ACTIVE"), ("dst00003", "ACTIVE")]
    assert alice_us(7) == alice_us(2)  # past the end, the last state holds


def test_expected_rows_are_snake_case(small_scenario: Scenario) -> None:
    row = small_scenario.expected_replicas(0)[0]
    assert row == {
        "source_stage_arn": US_STAGE,
        "participant_id": "alice",
        "source_session_id": "st-SRC0000000001",
        "destination_stage_arn": "arn:aws:ivs:us-east-1:123456789012:stage/dst00001",
        "destination_session_id": "st-DST0000000001",
        "replication_state": "ACTIVE",
    }


def test_participant_refs_include_participants_without_replicas(small_scenario: Scenario) -> None:
    assert small_scenario.participant_refs() == [
        {"source_stage_arn": US_STAGE, "participant_id": "alice"},
        {"source_stage_arn": US_STAGE, "participant_id": "bob"},
        {"source_stage_arn": EU_STAGE, "participant_id": "alice"},
    ]


def test_round_trip_through_dict_and_file(small_scenario: Scenario, tmp_path: Path) -> None:
    assert parse_scenario(scenario_to_dict(small_scenario)) == small_scenario
    path = tmp_path / "s.json"
    save_scenario(small_scenario, path)
    assert load_scenario(path) == small_scenario


def test_faults_are_read_from_the_file() -> None:
    data = small_scenario_dict()
    data["faults"] = {"latency_ms": 5, "cycle_participants": ["alice"], "fail_first": {"error": 2}}
    scenario = parse_scenario(data)
    assert scenario.faults == Faults(
        latency_ms=5.0, cycle_participants=frozenset({"alice"}), fail_first={"error": 2}
    )
    assert parse_scenario(scenario_to_dict(scenario)).faults == scenario.faults


def _broken(path: str, value: Any) -> dict[str, Any]:
    """Return the small scenario with one field replaced (``a.b.0.c`` style path)."""
    data = copy.deepcopy(small_scenario_dict())
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("name", _DELETE, "scenario: missing required field(s) ['name']"),
        ("epochs", 0, "epochs: must be >= 1"),
        ("epochs", "3", "epochs: expected int"),
        ("colour", "red", "scenario: unknown field(s) ['colour']"),
        (
            "participants.0.source_stage_arn",
            "arn:aws:ivs:us-east-1:1:channel/x",
            "participants[0].source_stage_arn: Member must satisfy regular expression pattern",
        ),
        ("participants.0.participant_id", "has space", "participants[0].participant_id"),
        (
            "participants.0.replicas.0.source_session_id",
            "st-short",
            "participants[0].replicas[0].source_session_id: Member must have length greater",
        ),
        (
            "participants.0.replicas.0.destination_session_id",
            "xx-AAAAAAAAAAAAA",
            "destination_session_id: Member must satisfy regular expression pattern: st-",
        ),
        (
            "participants.0.replicas.0.states",
            ["ACTIVE", "RUNNING"],
            "participants[0].replicas[0].states[1]: state must be one of ['ACTIVE', 'STOPPED']",
        ),
        ("participants.0.replicas.0.states", ["ACTIVE"] * 4, "4 states for 3 epochs"),
        ("participants.0.replicas.0.states", [], "needs at least one state"),
        (
            "participants.0.replicas.0.destination_stage_arn",
            "arn:aws:ivs:eu-west-1:123456789012:stage/far",
            "destination region eu-west-1 differs from source region us-east-1",
        ),
        (
            "participants.0.replicas.0.destination_stage_arn",
            US_STAGE,
            "destination stage is the source stage",
        ),
        ("participants.0.replicas.1", replica(1), "duplicate replica"),
        ("participants.1.participant_id", "alice", "participants[1]: duplicate of participants[0]"),
        ("participants.1.published", "no", "participants[1].published: expected bool"),
        (
            "participants.2.replicas.0.source_session_id",
            "st-SRC0000000001",
            "session st-SRC0000000001 is already used on stage " + US_STAGE,
        ),
        ("start_time", "2026-01-01T00:00:00", "start_time: time must carry a timezone"),
        ("faults", {"eror_rate": 0.1}, "faults: unknown fault setting(s) ['eror_rate']"),
        ("faults", {"error_rate": 2}, "faults.error_rate: a rate must be between 0 and 1"),
        ("faults", {"fail_first": {"explode": 1}}, "unknown fault kind 'explode'"),
        (
            "stages",
            [{"arn": US_STAGE, "sessions": [{"session_id": "st-SRC0000000001", "end_epoch": 1}]}],
            "participants[0].replicas[2]: ACTIVE at or after epoch 1, when session "
            "st-SRC0000000001 ended",
        ),
    ],
)
def test_invalid_scenarios_name_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_broken(path, value))
    assert message in str(caught.value)


def test_every_problem_is_listed_at_once() -> None:
    data = _broken("participants.0.participant_id", "a b")
    data["participants"][1]["source_stage_arn"] = "nope"
    with pytest.raises(ScenarioError, match=r"2 problem\(s\)"):
        parse_scenario(data)


def test_load_reports_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.json: not valid JSON"):
        load_scenario(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"wrong\.json: scenario: expected an object"):
        load_scenario(wrong)


# ---- generated scenarios ---------------------------------------------------------------------


def test_generated_scenario_shape_and_validity() -> None:
    scenario = generate_scenario(
        25, [0, 3, 7], regions=("us-east-1", "eu-west-1"), accounts=("111111111111",)
    )
    assert len(scenario.participants) == 25
    assert [len(p.replicas) for p in scenario.participants[:4]] == [0, 3, 7, 0]
    assert {stage_region(p.source_stage_arn) for p in scenario.participants} == {
        "us-east-1",
        "eu-west-1",
    }
    parse_scenario(scenario_to_dict(scenario))  # passes every consistency check


def test_generated_scenarios_are_deterministic_and_change_over_epochs() -> None:
    def build(seed: int) -> Scenario:
        return generate_scenario(20, 10, epochs=4, change_rate=0.5, seed=seed)

    first, again, other = build(1), build(1), build(2)
    assert [first.expected_replicas(e) for e in range(4)] == [
        again.expected_replicas(e) for e in range(4)
    ]
    assert first.expected_replicas(3) != other.expected_replicas(3)
    assert first.expected_replicas(0) != first.expected_replicas(3)
    assert len(first.expected_replicas(0)) == 200  # everything starts ACTIVE
    parse_scenario(scenario_to_dict(first))


def test_large_generated_scenarios_are_lazy() -> None:
    scenario = generate_scenario(2000, 500)
    assert scenario.replica_count() == 1_000_000
    last = scenario.participants[-1]
    assert last.participant_id == "p-001999"
    assert last.replicas[-1].destination_stage_arn.endswith("stage/dst000499")
    assert SESSION_RE.fullmatch(last.replicas[499].destination_session_id)
    assert len(last.replicas[499].destination_session_id) == 16


# ---- the bundled demo ------------------------------------------------------------------------


def test_demo_scenario_has_its_described_properties() -> None:
    demo = load_demo_scenario()
    assert DEMO_SCENARIO_PATH.name == "demo.json"
    regions = {stage_region(p.source_stage_arn) for p in demo.participants}
    assert regions == {"us-east-1", "eu-west-1", "ap-northeast-1"}
    assert 25 <= len(demo.participants) <= 35
    assert demo.epochs == 5
    counts = [len(p.replicas) for p in demo.participants]
    assert 0 in counts
    assert max(counts) > 100  # several pages of 50
    histories = [r.states for p in demo.participants for r in p.replicas]
    assert any(_restarts(states) for states in histories)
    assert any(states[-1] is None and "ACTIVE" in states for states in histories)
    assert any(states[0] is None and "ACTIVE" in states for states in histories)
    same_id = Counter(p.participant_id for p in demo.participants)
    assert max(same_id.values()) >= 2
    into: dict[str, set[str]] = {}
    for p in demo.participants:
        for r in p.replicas:
            into.setdefault(r.destination_stage_arn, set()).add(p.participant_id)
    assert max(len(ids) for ids in into.values()) >= 2


def _restarts(states: tuple[str | None, ...]) -> bool:
    """Tell whether a replica goes ACTIVE, then STOPPED, then ACTIVE again."""
    text = "".join({"ACTIVE": "A", "STOPPED": "S", None: "-"}[s] for s in states)
    return re.search(r"A+S+A", text) is not None


def test_demo_file_round_trips() -> None:
    demo = load_demo_scenario()
    assert parse_scenario(json.loads(DEMO_SCENARIO_PATH.read_text())) == demo
    assert scenario_to_dict(demo) == json.loads(DEMO_SCENARIO_PATH.read_text())


def test_readme_example_is_a_valid_scenario() -> None:
    text = (DEMO_SCENARIO_PATH.parents[1] / "README.md").read_text(encoding="utf-8")
    example = text.split("## Scenario files", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    scenario = parse_scenario(json.loads(example))
    assert [r["replication_state"] for r in scenario.expected_replicas(2)] == ["STOPPED"]
    assert scenario.expected_replicas(3) == []


def test_live_clock_starts_each_epoch_when_the_emulator_enters_it() -> None:
    import dataclasses
    from datetime import UTC, datetime, timedelta

    from ivs_realtime_emulator import Emulator, load_demo_scenario

    scenario = dataclasses.replace(load_demo_scenario(), live_clock=True, epoch_starts={})
    before = datetime.now(UTC)
    with Emulator(scenario) as emulator:
        entered_first = scenario.epoch_time(0)
        emulator.advance()
        entered_second = scenario.epoch_time(1)
    assert (
        before <= entered_first <= entered_second <= datetime.now(UTC) + timedelta(milliseconds=1)
    )
    assert scenario_to_dict(scenario)["live_clock"] is True
