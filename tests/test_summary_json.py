"""`ivs-replicas run --json`: one JSON object that agrees with the ledger and the human summary.

Runs in-process (`cli.main`) against the local endpoint, settings from the environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ivs_realtime_emulator import Emulator, Faults, generate_scenario
from ivs_replicas.sources.ivs_realtime import client
from ivs_replicas.sources.ivs_realtime.client import CallStats

from .helpers import Invocation, query

Invoke = Callable[..., Invocation]
StartFn = Callable[..., Emulator]

# What README documents for `run --json`, every key of the object.
DOCUMENTED_KEYS = {
    "run_id",
    "status",
    "exit_code",
    "participants_ok",
    "participants_failed",
    "participants_discovered",
    "replicas",
    "pages",
    "duplicates_dropped",
    "api_calls",
    "calls",
    "retries",
    "throttled",
    "page_retries",
    "rescans",
    "failures",
    "discovery_failures",
    "quota_wait_seconds",
    "quota_wait_worker_seconds",
    "elapsed_seconds",
    "database",
    "dataset",
    "views_applied",
    "published_bytes",
    "published_seconds",
    "resumed_packages",
    "unknown_fields",
}


def write_participants(emulator: Emulator, path: Path) -> None:
    """The scenario's participants as a CSV file."""
    rows = [
        f"{p['source_stage_arn']},{p['participant_id']}"
        for p in emulator.scenario.participant_refs()
    ]
    path.write_text("source_stage_arn,participant_id\n" + "\n".join(rows) + "\n")


@pytest.fixture
def partial_run(
    ivs_replicas: Invoke,
    start_emulator: StartFn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Invocation, Path]:
    """`run --json` where one stage of three is denied: exit 3, two failure-free stages."""
    scenario = generate_scenario(participants=25, replicas_per_participant=[0, 1, 3])
    denied = scenario.participant_refs()[-1]["source_stage_arn"]
    emulator = start_emulator(scenario, Faults(access_denied_stages=frozenset({denied})))
    write_participants(emulator, tmp_path / "participants.csv")
    monkeypatch.setenv("SOURCES__IVS_REALTIME__ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND", "0")
    database = tmp_path / "replicas.duckdb"
    result = ivs_replicas(
        "run", "--participants", "participants.csv", "--db", str(database), "--json"
    )
    return result, database


def one_row(database: Path, sql: str) -> tuple[Any, ...]:
    """The one row a query returns."""
    rows = query(database, sql)
    assert len(rows) == 1
    return rows[0]


def test_run_json_is_one_object_with_every_documented_key(
    partial_run: tuple[Invocation, Path],
) -> None:
    result, database = partial_run
    assert result.exit_code == 3, result.err
    assert len(result.out.strip().splitlines()) == 1
    summary = json.loads(result.out)
    assert set(summary) == DOCUMENTED_KEYS
    assert summary["exit_code"] == 3
    assert summary["status"] == "partial"
    assert summary["database"] == str(database)
    assert summary["dataset"] == "ivs_realtime"


def test_run_json_agrees_with_the_scan_ledger(partial_run: tuple[Invocation, Path]) -> None:
    result, database = partial_run
    summary = json.loads(result.out)
    run = f"from ivs_realtime.participant_scans where run_id = '{summary['run_id']}'"
    ok, failed, replicas, pages = one_row(
        database,
        "select count(*) filter (status = 'ok'), count(*) filter (status = 'failed'), "
        f"sum(replica_count), sum(pages) {run}",
    )
    assert (summary["participants_ok"], summary["participants_failed"]) == (ok, failed)
    assert (summary["replicas"], summary["pages"]) == (replicas, pages)
    failures = dict(
        query(database, f"select error_code, count(*) {run} and status = 'failed' group by 1")
    )
    assert summary["failures"] == failures == {"AccessDeniedException": 5}
    assert summary["calls"]["ListParticipantReplicas"] == summary["api_calls"] >= pages


def test_run_json_agrees_with_the_scan_runs_view(partial_run: tuple[Invocation, Path]) -> None:
    result, database = partial_run
    summary = json.loads(result.out)
    row = one_row(
        database,
        "select count_participants_ok, count_participants_failed, count_replicas, count_pages "
        f"from ivs_realtime.scan_runs where run_id = '{summary['run_id']}'",
    )
    expected = ("participants_ok", "participants_failed", "replicas", "pages")
    assert row == tuple(summary[key] for key in expected)


def test_human_summary_prints_the_same_figures(
    ivs_replicas: Invoke, partial_run: tuple[Invocation, Path], tmp_path: Path
) -> None:
    """Without --json the same run prints lines made from the same figures."""
    first = json.loads(partial_run[0].out)
    again = ivs_replicas(
        "run", "--participants", "participants.csv", "--db", str(tmp_path / "again.duckdb")
    )
    assert again.exit_code == 3, again.err
    lines = again.out
    assert f"{first['participants_ok']} ok, {first['participants_failed']} failed" in lines
    assert f"{first['replicas']} in {first['pages']} pages" in lines
    assert "s wall-clock (" in lines
    assert "failed        5 x AccessDeniedException" in lines


def test_quota_wait_is_wall_clock_time_with_any_worker_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Overlapping waits count once on the wall clock; the sum over workers counts each."""
    now = [0.0]
    monkeypatch.setattr(client.time, "monotonic", lambda: now[0])
    stats = CallStats()
    for start, seconds in [(0.0, 2.0), (1.0, 2.0), (1.5, 0.5), (5.0, 1.0)]:
        now[0] = start
        stats.add_wait(seconds)
    assert stats.quota_wait_wall_seconds == pytest.approx(4.0)
    assert stats.quota_wait_seconds == pytest.approx(5.5)


@pytest.mark.slow
def test_quota_waits_of_a_paced_run_fit_in_its_elapsed_time(
    ivs_replicas: Invoke, start_emulator: StartFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers waiting side by side: wall-clock waits stay within the run's duration."""
    emulator = start_emulator(generate_scenario(participants=16, replicas_per_participant=1))
    write_participants(emulator, tmp_path / "participants.csv")
    monkeypatch.setenv("SOURCES__IVS_REALTIME__ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND", "8")
    result = ivs_replicas("run", "--participants", "participants.csv", "--json")
    assert result.exit_code == 0, result.err
    summary = json.loads(result.out)
    assert 0 < summary["quota_wait_seconds"] <= summary["elapsed_seconds"]
    assert summary["quota_wait_worker_seconds"] > summary["quota_wait_seconds"]


def test_readme_documents_every_key() -> None:
    """The README's table of `run --json` keys names each key, and no other."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- run-json:start -->")[1].split("<!-- run-json:end -->")[0]
    documented = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    assert documented == DOCUMENTED_KEYS
