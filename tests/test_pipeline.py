"""End to end: the dlt source against the local endpoint over loopback, into DuckDB."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.configuration.specs import AwsCredentials
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.pipeline.exceptions import PipelineStepFailed
from ivs_realtime_emulator import Emulator, Faults, Scenario, generate_scenario
from ivs_replicas import warehouse
from ivs_replicas.errors import DatabaseBusyError
from ivs_replicas.locking import exclusive_lock
from ivs_replicas.pipeline import DUCKDB_MEMORY_LIMIT, make_pipeline
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.sources.ivs_realtime import RunTally, ivs_realtime
from ivs_replicas.storage import DuckDbFile

from .helpers import (
    FAKE_KEY_ID,
    FAKE_SECRET,
    REPLICA_COLUMNS,
    RunFn,
    loaded_replicas,
    query,
    sorted_rows,
)
from .sources.support import config_snapshot

ROOT = Path(__file__).resolve().parents[1]

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
    lock = DuckDbFile(database.resolve()).lock_path
    with exclusive_lock(lock, "test holder"), pytest.raises(DatabaseBusyError, match="pid"):
        run_against(emulator)
    assert run_against(emulator).exit_code == 0


@pytest.mark.slow
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


def test_keywords_win_over_the_environment(
    start_emulator: StartFn, run_against: RunFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = start_emulator(generate_scenario(participants=1, replicas_per_participant=20))
    monkeypatch.setenv("SOURCES__IVS_REALTIME__PAGE_SIZE", "3")
    run_against(emulator)
    assert {params["maxResults"] for _, _, params in emulator.requests} == {3}
    emulator.reset_stats()
    run_against(emulator, page_size=7)
    assert {params["maxResults"] for _, _, params in emulator.requests} == {7}


def test_a_run_changes_no_global_dlt_config(start_emulator: StartFn, run_against: RunFn) -> None:
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=3))
    before = config_snapshot()
    assert run_against(emulator).exit_code == 0
    assert config_snapshot() == before


@pytest.mark.slow
def test_the_pipeline_bounds_duckdb_memory_and_keeps_no_loaded_files(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=60))
    run_against(emulator)
    run_against(emulator)
    store = DuckDbFile(database.resolve())
    pipeline = make_pipeline(
        store.destination(), DEFAULT_DATASET, store.pipelines_dir(DEFAULT_DATASET)
    )
    with pipeline.sql_client() as client:
        limit = client.execute_sql("select current_setting('memory_limit')")
    assert limit == [("244.1 MiB",)], f"{DUCKDB_MEMORY_LIMIT} in DuckDB's units"
    loaded = pipeline.list_completed_load_packages()
    assert len(loaded) == 2
    data_files = [
        path
        for path in store.work_dir.rglob("*")
        if path.suffix in {".parquet", ".gz", ".jsonl"} and "loaded" in path.parts
    ]
    assert data_files == []


USERS_DATASET = "users_ivs"


def users_pipeline(database: Path, tmp_path: Path) -> dlt.Pipeline:
    """A pipeline as a dlt user writes it, with nothing from this project's factory."""
    return dlt.pipeline(
        pipeline_name="users_ivs_pipeline",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name=USERS_DATASET,
        pipelines_dir=str(tmp_path / "users_pipelines"),
    )


def users_source(emulator: Emulator, tally: RunTally) -> Any:
    """The source as a dlt user calls it: settings as keywords, credentials as dlt's spec."""
    return ivs_realtime(
        participants=emulator.scenario.participant_refs(),
        credentials=AwsCredentials(
            aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET
        ),
        endpoint_url=emulator.url,
        requests_per_second=0,
        tally=tally,
    )


def current_replicas(database: Path) -> list[dict[str, str]]:
    """Rows of replicas_current, after applying the views to the user's dataset and deriving it."""
    with duckdb.connect(str(database)) as connection:
        warehouse.apply_views(connection, USERS_DATASET)
        warehouse.maintain(connection, USERS_DATASET)
        rows = connection.sql(
            f"select {', '.join(REPLICA_COLUMNS)} from {USERS_DATASET}.replicas_current"
        ).fetchall()
    return sorted_rows([dict(zip(REPLICA_COLUMNS, row, strict=True)) for row in rows])


def test_a_users_own_dlt_pipeline_feeds_the_views(
    start_emulator: StartFn, database: Path, tmp_path: Path
) -> None:
    scenario = generate_scenario(participants=4, replicas_per_participant=[0, 3, 51, 2])
    emulator = start_emulator(scenario)
    tally = RunTally()
    users_pipeline(database, tmp_path).run(users_source(emulator, tally))
    assert current_replicas(database) == sorted_rows(scenario.expected_replicas(0))
    assert (tally.participants_ok, tally.replicas) == (4, 56)
    runs = query(
        database,
        f"select run_id, count_participants_ok, count_replicas from {USERS_DATASET}.scan_runs",
    )
    assert runs == [(tally.run_id, 4, 56)]


@pytest.mark.slow
def test_an_interrupted_load_stays_hidden_in_a_users_pipeline(
    start_emulator: StartFn, database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = generate_scenario(
        participants=5, replicas_per_participant=6, epochs=2, change_rate=0.5
    )
    emulator = start_emulator(scenario)
    pipeline = users_pipeline(database, tmp_path)
    pipeline.run(users_source(emulator, RunTally()))
    emulator.advance()

    def interrupted(self: DuckDbClient, load_id: str) -> None:
        """Every table of the package is loaded; the run stops before `_dlt_loads` says so."""
        raise RuntimeError("interrupted before the load was recorded")

    with monkeypatch.context() as patch:
        patch.setattr(DuckDbClient, "complete_load", interrupted)
        second = RunTally()
        with pytest.raises(PipelineStepFailed):
            pipeline.run(users_source(emulator, second))
    assert loaded_replicas_of(database, second.run_id) == sorted_rows(scenario.expected_replicas(1))
    assert current_replicas(database) == sorted_rows(scenario.expected_replicas(0))
    pipeline.load()
    assert current_replicas(database) == sorted_rows(scenario.expected_replicas(1))


def loaded_replicas_of(database: Path, run_id: str) -> list[dict[str, str]]:
    """Replica rows of one run in the user's table, whether or not their load completed."""
    rows = query(
        database,
        f"select {', '.join(REPLICA_COLUMNS)} from {USERS_DATASET}.participant_replicas "
        f"where run_id = '{run_id}'",
    )
    return sorted_rows([dict(zip(REPLICA_COLUMNS, row, strict=True)) for row in rows])


@pytest.mark.slow
def test_the_dlt_init_style_script_loads_from_config_and_applies_the_views(
    start_emulator: StartFn, tmp_path: Path
) -> None:
    scenario = generate_scenario(participants=3, replicas_per_participant=5)
    emulator = start_emulator(scenario)
    (tmp_path / ".dlt").mkdir()
    participants = ", ".join(
        f'{{ source_stage_arn = "{ref["source_stage_arn"]}", '
        f'participant_id = "{ref["participant_id"]}" }}'
        for ref in scenario.participant_refs()
    )
    (tmp_path / ".dlt" / "config.toml").write_text(
        f"[sources.ivs_realtime]\nparticipants = [{participants}]\nrequests_per_second = 0\n"
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "ivs_realtime_pipeline.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "views applied" in result.stdout
    database = tmp_path / "ivs_replicas.duckdb"
    rows = query(
        database, f"select {', '.join(REPLICA_COLUMNS)} from ivs_realtime.replicas_current"
    )
    assert sorted_rows([dict(zip(REPLICA_COLUMNS, row, strict=True)) for row in rows]) == (
        sorted_rows(scenario.expected_replicas(0))
    )
