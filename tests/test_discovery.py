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
from ivs_realtime_emulator import Emulator, Scenario, load_demo_scenario
from ivs_replicas.errors import BadInputError

from .helpers import RunFn, go_offline, loaded_replicas, query, run_pipeline, sorted_rows

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
