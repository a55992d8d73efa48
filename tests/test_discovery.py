"""Discovery: SOURCE publishers found through stages and sessions, incrementally; their events."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, Faults, Scenario, load_demo_scenario
from ivs_replicas.errors import BadInputError, FatalRunError
from ivs_replicas.runner import RunSummary

from .helpers import (
    FAKE_KEY_ID,
    RunFn,
    go_offline,
    loaded_replicas,
    query,
    run_pipeline,
    sorted_rows,
)

StartFn = Callable[..., Emulator]
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]


def discover(run_against: RunFn, emulator: Emulator, **options: object) -> object:
    """A run that finds its participants by itself."""
    return run_against(
        emulator, participants=None, discover_stages=True, discovery_regions=REGIONS, **options
    )


def source_participants(scenario: Scenario, epoch: int) -> set[tuple[str, str]]:
    """Participants with at least one replica listed in the epoch."""
    return {
        (row["source_stage_arn"], row["participant_id"])
        for row in scenario.expected_replicas(epoch)
    }


@dataclass(frozen=True)
class EpochRun:
    """One discovery run of the demo: its run id, its epoch's start and the sessions it saw."""

    epoch: int
    epoch_started_at: datetime
    run_id: str
    listed_sessions: frozenset[str]
    ended_sessions: frozenset[str]


@dataclass(frozen=True)
class DemoReplay:
    """The demo's epochs, each discovered by one run into one database."""

    scenario: Scenario
    database: Path
    runs: list[EpochRun]


@pytest.fixture(scope="module")
def demo_replay(tmp_path_factory: pytest.TempPathFactory) -> DemoReplay:
    """The demo replayed once for the tests that read what it left; xdist workers share it."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # the session's folder, above each worker's own
    scenario, folder = load_demo_scenario(), root / "demo-replay"
    record = folder / "runs.json"
    with (root / "demo-replay.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            record.write_text(json.dumps(replay(scenario, folder / "replicas.duckdb")))
        runs = [
            EpochRun(
                epoch, datetime.fromisoformat(started), run_id, frozenset(listed), frozenset(ended)
            )
            for epoch, started, run_id, listed, ended in json.loads(record.read_text())
        ]
    return DemoReplay(scenario, folder / "replicas.duckdb", runs)


def replay(scenario: Scenario, database: Path) -> list[tuple[int, str, str, list[str], list[str]]]:
    """One discovery run per epoch; the sessions each listed and those known ended after it."""
    runs = []
    with pytest.MonkeyPatch.context() as monkeypatch, Emulator(scenario) as emulator:
        go_offline(monkeypatch)
        for epoch in range(scenario.epochs):
            emulator.reset_stats()
            summary = discover(partial(run_pipeline, database), emulator)
            listed = {
                params["sessionId"]
                for operation, _, params in emulator.requests
                if operation == "ListParticipants"
            }
            ended = query(
                database,
                "select session_id from ivs_realtime.stage_sessions where ended_at is not null",
            )
            started = scenario.epoch_time(epoch).isoformat()
            runs.append(
                (epoch, started, summary.tally.run_id, sorted(listed), sorted(r[0] for r in ended))
            )
            emulator.advance()
    return runs


@pytest.mark.slow
def test_discovery_finds_every_source_participant_and_replica(demo_replay: DemoReplay) -> None:
    scenario, database = demo_replay.scenario, demo_replay.database
    assert len(demo_replay.runs) == scenario.epochs
    for run in demo_replay.runs:
        scanned = set(
            query(
                database,
                f"select source_stage_arn, participant_id from ivs_realtime.participant_scans where run_id = '{run.run_id}'",
            )
        )
        assert source_participants(scenario, run.epoch) <= scanned
        assert loaded_replicas(database, run.run_id) == sorted_rows(
            scenario.expected_replicas(run.epoch)
        )
    types = dict(
        query(
            database, "select replication_type, count(*) from ivs_realtime.participants group by 1"
        )
    )
    assert types["SOURCE"] > 0
    stages = {row[0] for row in query(database, "select stage_arn from ivs_realtime.stages")}
    assert {p.source_stage_arn for p in scenario.participants} <= stages


@pytest.mark.slow
def test_a_session_that_ended_is_listed_once_more_then_never(demo_replay: DemoReplay) -> None:
    ended_by_epoch: dict[int, set[str]] = {}
    for run in demo_replay.runs:
        ended_by_epoch[run.epoch] = set(run.ended_sessions & run.listed_sessions)
        previously_ended = set().union(
            *(ended_by_epoch[e] for e in ended_by_epoch if e < run.epoch)
        )
        assert not (run.listed_sessions & previously_ended), (
            "a session already seen ended is not listed again"
        )
    assert any(ended_by_epoch.values()), "the scenario has a session that ends between runs"


@pytest.mark.slow
def test_events_give_exact_replication_times(demo_replay: DemoReplay) -> None:
    database = demo_replay.database
    started = query(
        database,
        "select count(*), count(distinct event_key), min(event_at) from ivs_realtime.participant_events "
        "where event_name = 'REPLICATION_STARTED'",
    )
    count, distinct, first = started[0]
    assert count == distinct > 0, "merged on the natural key: re-runs add no duplicates"
    assert first == demo_replay.runs[0].epoch_started_at
    timeline = query(
        database,
        "select start_source, count(*), count(*) filter (where replication_started_at <= observed_started_at "
        "and (observed_started_after_at is null or replication_started_at > observed_started_after_at)) "
        "from ivs_realtime.replica_timeline group by 1",
    )
    by_source = {source: (count, inside) for source, count, inside in timeline}
    assert by_source["event"][0] > 0, "exact start times come from events"
    assert by_source["event"][0] == by_source["event"][1], "each exact time lies within its bounds"
    stops = query(
        database, "select count(*) from ivs_realtime.replica_timeline where stop_source = 'event'"
    )
    assert stops[0][0] > 0


def test_configured_participants_and_discovery_combine(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = load_demo_scenario()
    emulator = start_emulator(scenario)
    extra = scenario.participant_refs()[0]
    summary = run_against(
        emulator,
        participants=[extra],
        discover_stages=True,
        discovery_stage_arns=[extra["source_stage_arn"]],
    )
    assert loaded_replicas(database, summary.tally.run_id) == sorted_rows(
        [
            row
            for row in scenario.expected_replicas(0)
            if row["source_stage_arn"] == extra["source_stage_arn"]
        ]
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({}, "discovery_regions or discovery_stage_arns"),
        ({"discovery_regions": ["mars-1"]}, "mars-1"),
        ({"discovery_stage_arns": ["nope"]}, "nope"),
    ],
    ids=["no-scope", "bad-region", "bad-stage-arn"],
)
def test_bad_discovery_settings_are_named(
    start_emulator: StartFn, run_against: RunFn, options: dict[str, object], named: str
) -> None:
    emulator = start_emulator(load_demo_scenario())
    with pytest.raises(BadInputError, match=named):
        run_against(emulator, participants=None, discover_stages=True, **options)


# ---- failed discovery listings ---------------------------------------------------------------

SOUTH = "arn:aws:ivs:us-east-1:123456789012:stage/studioSouth02"
DUBLIN = "arn:aws:ivs:eu-west-1:123456789012:stage/dublinLive01"
DENIED = Faults(
    access_denied_by_operation={
        "ListStageSessions": frozenset({DUBLIN}),
        "ListParticipants": frozenset({SOUTH}),
    }
)
CONFIGURED = (DUBLIN, "dub-01")
"""A participant of Dublin given in the settings: scanned whatever discovery finds."""


@dataclass(frozen=True)
class DeniedDiscovery:
    """Two discovery runs of the demo's last epoch: Dublin's sessions and South's participants
    denied in the first, nothing denied in the second."""

    scenario: Scenario
    database: Path
    epoch: int
    first: RunSummary
    second: RunSummary


@pytest.fixture(scope="module")
def denied_discovery(tmp_path_factory: pytest.TempPathFactory) -> DeniedDiscovery:
    """The demo in its last epoch, when South's first session has ended, discovered twice."""
    scenario = load_demo_scenario()
    database = tmp_path_factory.mktemp("denied-discovery") / "replicas.duckdb"
    stage, participant_id = CONFIGURED
    options = {
        "participants": [{"source_stage_arn": stage, "participant_id": participant_id}],
        "discover_stages": True,
        "discovery_regions": REGIONS,
    }
    with pytest.MonkeyPatch.context() as monkeypatch, Emulator(scenario, faults=DENIED) as emulator:
        go_offline(monkeypatch)
        while emulator.epoch < scenario.epochs - 1:
            emulator.advance()
        first = run_pipeline(database, emulator, **options)
        emulator.set_faults(Faults())
        second = run_pipeline(database, emulator, **options)
    return DeniedDiscovery(scenario, database, scenario.epochs - 1, first, second)


def scanned(database: Path, run_id: str) -> set[tuple[str, str, str]]:
    """(stage, participant, status) of every participant scan of one run."""
    return set(
        query(
            database,
            "select source_stage_arn, participant_id, status from ivs_realtime.participant_scans "
            f"where run_id = '{run_id}'",
        )
    )


def published_sources(scenario: Scenario) -> set[tuple[str, str]]:
    """Participants with replicas: each is a published SOURCE in its stage's sessions."""
    return {(p.source_stage_arn, p.participant_id) for p in scenario.participants if p.replicas}


def test_a_failed_discovery_listing_fails_only_its_stage(
    denied_discovery: DeniedDiscovery,
) -> None:
    scenario, run = denied_discovery.scenario, denied_discovery.first
    others = {ref for ref in published_sources(scenario) if ref[0] not in (SOUTH, DUBLIN)}
    kept = others | {CONFIGURED}
    assert run.exit_code == 3
    assert scanned(denied_discovery.database, run.tally.run_id) == {
        (stage, participant_id, "ok") for stage, participant_id in kept
    }
    assert loaded_replicas(denied_discovery.database, run.tally.run_id) == sorted_rows(
        [
            row
            for row in scenario.expected_replicas(denied_discovery.epoch)
            if (row["source_stage_arn"], row["participant_id"]) in kept
        ]
    )


def test_failed_discovery_listings_are_named_in_the_summary(
    denied_discovery: DeniedDiscovery,
) -> None:
    lines = denied_discovery.first.lines()
    assert lines[0].endswith(": finished with failed discovery listings")
    named = {line.strip() for line in lines if line.endswith("AccessDeniedException")}
    assert named == {
        f"ListStageSessions  {DUBLIN}: AccessDeniedException",
        f"ListParticipants   {SOUTH} session st-South00000001: AccessDeniedException",
        f"ListParticipants   {SOUTH} session st-South00000002: AccessDeniedException",
    }


def test_failed_discovery_listings_are_in_the_json_summary(
    denied_discovery: DeniedDiscovery,
) -> None:
    summary = denied_discovery.first.to_dict()
    assert (summary["status"], summary["exit_code"]) == ("partial", 3)
    assert sorted(
        (failure["operation"], failure["target"], failure["error_code"])
        for failure in summary["discovery_failures"]
    ) == [
        ("ListParticipants", f"{SOUTH} session st-South00000001", "AccessDeniedException"),
        ("ListParticipants", f"{SOUTH} session st-South00000002", "AccessDeniedException"),
        ("ListStageSessions", DUBLIN, "AccessDeniedException"),
    ]
    assert denied_discovery.second.to_dict()["discovery_failures"] == []


def test_every_discovery_listing_is_in_the_ledger(denied_discovery: DeniedDiscovery) -> None:
    run_id = denied_discovery.first.tally.run_id
    rows = query(
        denied_discovery.database,
        "select operation, region, stage_arn, session_id, status, attempts, pages, item_count, "
        f"error_code from ivs_realtime.discovery_scans where run_id = '{run_id}'",
    )
    failed = {(row[0], row[2], row[3], *row[5:]) for row in rows if row[4] == "failed"}
    denied = (1, 0, 0, "AccessDeniedException")  # attempts, pages, items, error code
    assert failed == {
        ("ListStageSessions", DUBLIN, None, *denied),
        ("ListParticipants", SOUTH, "st-South00000001", *denied),
        ("ListParticipants", SOUTH, "st-South00000002", *denied),
    }
    stage_listings = {row[1]: row[7] for row in rows if row[0] == "ListStages"}
    session_listings = [row for row in rows if row[0] == "ListStageSessions"]
    assert set(stage_listings) == set(REGIONS)
    assert len(session_listings) == sum(stage_listings.values()), "one per stage listed"
    assert all(row[5] == 1 and row[6] >= 1 for row in rows if row[4] == "ok")


def test_the_next_run_discovers_what_a_failed_listing_missed(
    denied_discovery: DeniedDiscovery,
) -> None:
    scenario, run = denied_discovery.scenario, denied_discovery.second
    assert run.exit_code == 0
    assert scanned(denied_discovery.database, run.tally.run_id) == {
        (stage, participant_id, "ok") for stage, participant_id in published_sources(scenario)
    }
    assert loaded_replicas(denied_discovery.database, run.tally.run_id) == sorted_rows(
        scenario.expected_replicas(denied_discovery.epoch)
    )


def test_a_failed_stage_listing_fails_only_its_region(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = load_demo_scenario()
    first_request_fails = Faults(
        fail_first={"error": 1}, fault_operations=frozenset({"ListStages"})
    )
    emulator = start_emulator(scenario, first_request_fails)
    summary = discover(run_against, emulator, max_attempts=1, scan_attempts=1)
    elsewhere = {ref for ref in source_participants(scenario, 0) if ":us-east-1:" not in ref[0]}
    assert summary.exit_code == 3
    assert scanned(database, summary.tally.run_id) == {(*ref, "ok") for ref in elsewhere}
    assert loaded_replicas(database, summary.tally.run_id) == sorted_rows(
        [
            row
            for row in scenario.expected_replicas(0)
            if (row["source_stage_arn"], row["participant_id"]) in elsewhere
        ]
    )
    assert query(
        database,
        "select region, status from ivs_realtime.discovery_scans "
        "where operation = 'ListStages' order by region",
    ) == [("ap-northeast-1", "ok"), ("eu-west-1", "ok"), ("us-east-1", "failed")]
    assert any(line.strip().startswith("ListStages         us-east-1:") for line in summary.lines())


@pytest.mark.parametrize(
    ("operation", "stage"),
    [("ListStageSessions", SOUTH), ("ListParticipants", SOUTH)],
    ids=["stage-sessions", "participants"],
)
@pytest.mark.parametrize(
    ("faults", "status", "exit_code"),
    [
        ({"fail_first": {"error": 2}}, "ok", 0),
        ({"error_rate": 1.0}, "failed", 3),
    ],
    ids=["transient", "persistent"],
)
def test_discovery_listings_are_retried_like_scans(
    start_emulator: StartFn,
    run_against: RunFn,
    database: Path,
    operation: str,
    stage: str,
    faults: dict[str, object],
    status: str,
    exit_code: int,
) -> None:
    scenario = load_demo_scenario()
    emulator = start_emulator(
        scenario,
        Faults.from_dict({**faults, "fault_operations": [operation], "fault_stages": [stage]}),
    )
    summary = run_against(
        emulator,
        participants=None,
        discover_stages=True,
        discovery_stage_arns=[stage],
        max_attempts=1,
        scan_attempts=3,
    )
    attempts = query(
        database,
        f"select status, attempts from ivs_realtime.discovery_scans where operation = '{operation}'",
    )
    assert summary.exit_code == exit_code
    assert {row[0] for row in attempts} == {status}
    assert attempts[0][1] == 3, "three whole listings: the first and scan_attempts - 1 more"


def test_rejected_credentials_in_discovery_fail_the_whole_run(
    start_emulator: StartFn, run_against: RunFn
) -> None:
    faults = Faults(rejected_access_key_ids=frozenset({FAKE_KEY_ID}))
    emulator = start_emulator(load_demo_scenario(), faults)
    with pytest.raises(FatalRunError, match="credentials"):
        run_against(emulator, participants=None, discover_stages=True, discovery_stage_arns=[SOUTH])
