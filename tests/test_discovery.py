"""Discovery: SOURCE publishers found through stages and sessions, incrementally; their events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, Scenario, load_demo_scenario
from ivs_replicas.errors import BadInputError

from .helpers import RunFn, loaded_replicas, query, sorted_rows

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


def test_discovery_finds_every_source_participant_and_replica(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = load_demo_scenario()
    emulator = start_emulator(scenario)
    for epoch in range(scenario.epochs):
        summary = discover(run_against, emulator)
        scanned = set(
            query(
                database,
                f"select source_stage_arn, participant_id from ivs_realtime.participant_scans where run_id = '{summary.tally.run_id}'",
            )
        )
        assert source_participants(scenario, epoch) <= scanned
        assert loaded_replicas(database, summary.tally.run_id) == sorted_rows(
            scenario.expected_replicas(epoch)
        )
        emulator.advance()
    types = dict(
        query(
            database, "select replication_type, count(*) from ivs_realtime.participants group by 1"
        )
    )
    assert types["SOURCE"] > 0
    stages = {row[0] for row in query(database, "select stage_arn from ivs_realtime.stages")}
    assert {p.source_stage_arn for p in scenario.participants} <= stages


def test_a_session_that_ended_is_listed_once_more_then_never(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = load_demo_scenario()
    emulator = start_emulator(scenario)
    ended_by_epoch: dict[int, set[str]] = {}
    for _ in range(scenario.epochs):
        emulator.reset_stats()
        discover(run_against, emulator)
        listed = {
            params["sessionId"]
            for operation, _, params in emulator.requests
            if operation == "ListParticipants"
        }
        ended = {
            row[0]
            for row in query(
                database,
                "select session_id from ivs_realtime.stage_sessions where ended_at is not null",
            )
        }
        ended_by_epoch[emulator.epoch] = ended & listed
        previously_ended = set().union(
            *(ended_by_epoch[e] for e in ended_by_epoch if e < emulator.epoch)
        )
        assert not (listed & previously_ended), "a session already seen ended is not listed again"
        emulator.advance()
    assert any(ended_by_epoch.values()), "the scenario has a session that ends between runs"


def test_events_give_exact_replication_times(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = load_demo_scenario()
    emulator = start_emulator(scenario)
    for _ in range(scenario.epochs):
        discover(run_against, emulator)
        emulator.advance()
    started = query(
        database,
        "select count(*), count(distinct event_key), min(event_at) from ivs_realtime.participant_events "
        "where event_name = 'REPLICATION_STARTED'",
    )
    count, distinct, first = started[0]
    assert count == distinct > 0, "merged on the natural key: re-runs add no duplicates"
    assert first == scenario.epoch_time(0)
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
