"""End to end: the dlt source against the local endpoint over loopback, into DuckDB."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, Faults, Scenario, generate_scenario
from ivs_replicas.errors import DatabaseBusyError
from ivs_replicas.locking import exclusive_lock
from ivs_replicas.runner import pipelines_dir_for

from .helpers import RunFn, loaded_replicas, query, sorted_rows

StartFn = Callable[..., Emulator]


@pytest.mark.parametrize("replicas", [0, 1, 50, 51, 1000], ids=lambda n: f"{n}-replicas")
def test_every_page_is_loaded_exactly(
    start_emulator: StartFn, run_against: RunFn, database: Path, replicas: int
) -> None:
    emulator = start_emulator(generate_scenario(participants=1, replicas_per_participant=replicas))
    summary = run_against(emulator)
    assert loaded_replicas(database) == sorted_rows(emulator.expected_replicas())
    expected_pages = max(1, -(-replicas // 50))
    assert (summary.tally.pages, summary.tally.replicas) == (expected_pages, replicas)
    assert summary.exit_code == 0


def test_tokens_sent_follow_the_pages_in_order(start_emulator: StartFn, run_against: RunFn) -> None:
    emulator = start_emulator(generate_scenario(participants=1, replicas_per_participant=120))
    run_against(emulator, page_size=50)
    calls = [record for record in emulator.requests if record[0] == "ListParticipantReplicas"]
    tokens = [params.get("nextToken") for _, _, params in calls]
    assert tokens[0] is None
    assert len(tokens) == 3
    assert all(tokens[1:])
    assert len(set(tokens[1:])) == 2
    assert {params["maxResults"] for _, _, params in calls} == {50}


@pytest.mark.parametrize("page_size", [1, 7, 50], ids=lambda n: f"maxResults-{n}")
def test_max_results_is_respected(
    start_emulator: StartFn, run_against: RunFn, database: Path, page_size: int
) -> None:
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=20))
    summary = run_against(emulator, page_size=page_size)
    sizes = {params["maxResults"] for _, _, params in emulator.requests}
    assert sizes == {page_size}
    assert summary.tally.pages == 2 * -(-20 // page_size)
    assert loaded_replicas(database) == sorted_rows(emulator.expected_replicas())


def test_each_participant_is_asked_in_its_own_region(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(
        participants=9,
        replicas_per_participant=3,
        regions=("us-east-1", "eu-west-1", "ap-northeast-1"),
        participants_per_stage=1,
    )
    emulator = start_emulator(scenario)
    run_against(emulator)
    asked = Counter(
        (region, params["sourceStageArn"].split(":")[3]) for _, region, params in emulator.requests
    )
    assert all(region == stage_region for region, stage_region in asked)
    assert {region for region, _ in asked} == {"us-east-1", "eu-west-1", "ap-northeast-1"}
    assert emulator.stats.snapshot()["region_mismatches"] == 0
    assert loaded_replicas(database) == sorted_rows(emulator.expected_replicas())
    regions = query(
        database, "select distinct region from ivs_realtime.participant_replicas order by 1"
    )
    assert regions == [("ap-northeast-1",), ("eu-west-1",), ("us-east-1",)]


def test_empty_page_with_token_and_repeated_replica(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=2, replicas_per_participant=60)
    first, second = (ref["participant_id"] for ref in scenario.participant_refs())
    emulator = start_emulator(
        scenario,
        Faults(
            empty_page_participants=frozenset({first}), duplicate_across_pages=frozenset({second})
        ),
    )
    summary = run_against(emulator)
    assert loaded_replicas(database) == sorted_rows(emulator.expected_replicas())
    assert summary.tally.duplicates_dropped >= 1


def test_rows_carry_run_scan_time_region_and_account(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    emulator = start_emulator(generate_scenario(participants=3, replicas_per_participant=4))
    summary = run_against(emulator)
    rows = query(
        database,
        """
        select distinct r.run_id, r.observed_at = s.scanned_at, r.region, r.account_id,
            typeof(r.observed_at)
        from ivs_realtime.participant_replicas as r
        join ivs_realtime.participant_scans as s using (run_id, source_stage_arn, participant_id)
        """,
    )
    assert rows == [
        (summary.tally.run_id, True, "us-east-1", "123456789012", "TIMESTAMP WITH TIME ZONE")
    ]


def test_scan_ledger_has_one_row_per_participant(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=4, replicas_per_participant=[0, 1, 50, 51])
    emulator = start_emulator(scenario)
    run_against(emulator)
    rows = query(
        database,
        "select participant_id, status, pages, replica_count, error_code from "
        "ivs_realtime.participant_scans order by participant_id",
    )
    ids = sorted(ref["participant_id"] for ref in scenario.participant_refs())
    assert rows == [
        (ids[0], "ok", 1, 0, None),
        (ids[1], "ok", 1, 1, None),
        (ids[2], "ok", 1, 50, None),
        (ids[3], "ok", 2, 51, None),
    ]


def test_second_run_appends_a_second_snapshot(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(
        participants=5, replicas_per_participant=10, epochs=2, change_rate=0.5
    )
    emulator = start_emulator(scenario)
    first = run_against(emulator)
    emulator.advance()
    second = run_against(emulator)
    assert first.tally.run_id != second.tally.run_id
    assert loaded_replicas(database, first.tally.run_id) == sorted_rows(
        scenario.expected_replicas(0)
    )
    assert loaded_replicas(database, second.tally.run_id) == sorted_rows(
        scenario.expected_replicas(1)
    )
    assert query(database, "select count(distinct run_id) from ivs_realtime.participant_scans") == [
        (2,)
    ]


def test_failed_participant_is_isolated_and_recorded(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(
        participants=3, replicas_per_participant=60, participants_per_stage=1
    )
    denied = scenario.participant_refs()[1]
    emulator = start_emulator(
        scenario, Faults(access_denied_stages=frozenset({denied["source_stage_arn"]}))
    )
    summary = run_against(emulator)
    assert summary.exit_code == 3
    expected = [
        row
        for row in emulator.expected_replicas()
        if row["participant_id"] != denied["participant_id"]
    ]
    assert loaded_replicas(database) == sorted_rows(expected)
    failed = query(
        database,
        "select participant_id, error_code, replica_count from ivs_realtime.participant_scans "
        "where status = 'failed'",
    )
    assert failed == [(denied["participant_id"], "AccessDeniedException", 0)]


def test_a_second_concurrent_run_is_refused(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    emulator = start_emulator(generate_scenario(participants=1, replicas_per_participant=1))
    lock = pipelines_dir_for(database.resolve()) / "run.lock"
    with exclusive_lock(lock, "test holder"), pytest.raises(DatabaseBusyError, match="pid"):
        run_against(emulator)
    assert run_against(emulator).exit_code == 0


def test_scenario_equality_holds_for_the_demo(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    from ivs_realtime_emulator import load_demo_scenario

    scenario: Scenario = load_demo_scenario()
    emulator = start_emulator(scenario)
    for epoch in range(scenario.epochs):
        summary = run_against(emulator)
        assert loaded_replicas(database, summary.tally.run_id) == sorted_rows(
            scenario.expected_replicas(epoch)
        )
        emulator.advance()
