"""Throttling, faults and fatal errors: every participant ends exact or failed, never wrong."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import botocore.retries.standard
import pytest
from dlt.common.configuration.specs import AwsCredentials
from ivs_realtime_emulator import Emulator, Faults, generate_scenario
from ivs_replicas import runner
from ivs_replicas.errors import FatalRunError

from .helpers import FAKE_KEY_ID, FAKE_SECRET, RunFn, loaded_replicas, query, sorted_rows

StartFn = Callable[..., Emulator]
REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
SCRIPT = str(Path(sys.executable).with_name("ivs-replicas"))


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen at once, so fault tests stay quick (the limiter still paces them)."""
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda *_: 0.0
    )


def assert_exact_or_failed(database: Path, emulator: Emulator, run_id: str) -> tuple[int, int]:
    """Each participant's snapshot equals the scenario, or it is marked failed with a reason."""
    scans = query(
        database,
        "select source_stage_arn, participant_id, status, error_code, replica_count "
        f"from ivs_realtime.participant_scans where run_id = '{run_id}'",
    )
    assert len(scans) == len(emulator.scenario.participant_refs()), "one ledger row per participant"
    ok = {(stage, pid) for stage, pid, status, _, _ in scans if status == "ok"}
    failed = [(stage, pid, code) for stage, pid, status, code, _ in scans if status == "failed"]
    assert all(code for _, _, code in failed), "every failure names its reason"
    expected = [
        row
        for row in emulator.expected_replicas()
        if (row["source_stage_arn"], row["participant_id"]) in ok
    ]
    assert loaded_replicas(database, run_id) == sorted_rows(expected)
    duplicates = query(
        database,
        "select count(*) - count(distinct (run_id, source_stage_arn, participant_id, "
        "source_session_id, destination_stage_arn, destination_session_id)) "
        "from ivs_realtime.participant_replicas",
    )
    assert duplicates == [(0,)]
    return len(ok), len(failed)


@pytest.mark.slow
def test_client_limiter_keeps_a_steady_run_under_the_quota(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=24, replicas_per_participant=1, regions=REGIONS[:2])
    emulator = start_emulator(scenario, Faults(requests_per_second=5))
    summary = run_against(emulator, requests_per_second=5)
    assert emulator.stats.snapshot()["throttled"] == 0
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (24, 0)


@pytest.mark.slow
def test_throttling_is_retried_until_every_participant_loads(
    start_emulator: StartFn, run_against: RunFn, database: Path, no_backoff: None
) -> None:
    scenario = generate_scenario(participants=20, replicas_per_participant=60)
    emulator = start_emulator(scenario, Faults(requests_per_second=20, burst=1))
    summary = run_against(emulator, requests_per_second=60, max_attempts=3, workers_per_region=8)
    assert emulator.stats.snapshot()["throttled"] > 0
    assert sum(summary.tally.calls.throttled.values()) == emulator.stats.snapshot()["throttled"]
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (20, 0)


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_rate=0.3, seed=1),
        Faults(drop_rate=0.2, seed=2),
        Faults(malformed_rate=0.2, seed=3),
        pytest.param(Faults(slow_rate=0.2, slow_ms=1500, seed=4), marks=pytest.mark.slow),
    ],
    ids=["5xx", "dropped-connections", "malformed-json", "slow-responses"],
)
def test_transient_faults_lose_and_duplicate_nothing(
    start_emulator: StartFn, run_against: RunFn, database: Path, no_backoff: None, faults: Faults
) -> None:
    emulator = start_emulator(
        generate_scenario(participants=12, replicas_per_participant=120), faults
    )
    summary = run_against(emulator, read_timeout=1.0, max_attempts=10)
    ok, failed = assert_exact_or_failed(database, emulator, summary.tally.run_id)
    assert ok + failed == 12
    assert sum(emulator.stats.snapshot()["faults"].values()) > 0, "faults were injected"
    recovered = summary.tally.calls.retries + summary.tally.page_retries + summary.tally.rescans
    assert recovered > 0, "the faults were recovered from"


def test_a_replica_unlike_the_service_model_fails_only_its_participant(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=4, replicas_per_participant=60)
    broken = scenario.participant_refs()[2]["participant_id"]
    emulator = start_emulator(scenario, Faults(malformed_replica_participants=frozenset({broken})))
    summary = run_against(emulator)
    assert summary.exit_code == 3
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (3, 1)
    assert query(
        database,
        "select participant_id, error_code, error_message from ivs_realtime.participant_scans "
        "where status = 'failed'",
    ) == [
        (
            broken,
            "MalformedReplica",
            "page 1, replica 1 does not match the service model: "
            "replicationState is null; the service model requires it",
        )
    ]
    assert summary.tally.rescans == 0, "a malformed answer is not retried"


def test_members_the_model_does_not_know_are_loaded_as_json_and_named_once(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=3, replicas_per_participant=60)
    drifting = scenario.participant_refs()[0]["participant_id"]
    emulator = start_emulator(scenario, Faults(unknown_field_participants=frozenset({drifting})))
    summary = run_against(emulator)
    assert summary.exit_code == 0
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (3, 0)
    kept = query(
        database,
        f"select participant_id = '{drifting}', unknown_fields, count(*) "
        "from ivs_realtime.participant_replicas group by all order by 1",
    )
    assert kept == [(False, None, 120), (True, '{"replicationTier":"STANDARD"}', 60)]
    named = [line for line in summary.lines() if "unknown fields" in line]
    assert named == [
        "  unknown fields replicationTier (sent by the API, not in the service model; "
        "kept in participant_replicas.unknown_fields)"
    ]


def test_an_unreadable_page_is_called_again_not_the_whole_participant(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=3, replicas_per_participant=120)
    cut_short = scenario.participant_refs()[1]["participant_id"]
    emulator = start_emulator(
        scenario, Faults(fail_first={"malformed": 2}, fault_participants=frozenset({cut_short}))
    )
    summary = run_against(emulator)
    assert summary.exit_code == 0
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (3, 0)
    assert (summary.tally.page_retries, summary.tally.rescans) == (2, 0)
    assert emulator.stats.snapshot()["faults"] == {"malformed": 2}
    assert "2 page retries" in "\n".join(summary.lines())


def test_a_page_unreadable_on_every_call_fails_its_participant_without_a_rescan(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=3, replicas_per_participant=120)
    cut_short = scenario.participant_refs()[0]["participant_id"]
    emulator = start_emulator(
        scenario, Faults(malformed_rate=1.0, fault_participants=frozenset({cut_short}))
    )
    summary = run_against(emulator)
    assert summary.exit_code == 3
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (2, 1)
    assert (summary.tally.page_retries, summary.tally.rescans) == (2, 0)
    assert emulator.stats.snapshot()["faults"] == {"malformed": 3}
    assert query(
        database, "select error_code from ivs_realtime.participant_scans where status = 'failed'"
    ) == [("ResponseParserError",)]


@pytest.mark.slow
def test_the_run_deadline_fails_unfinished_participants_and_loads_the_rest(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=4, replicas_per_participant=60)
    stuck = scenario.participant_refs()[1]["participant_id"]
    # The endpoint accepts the call and never answers within the read timeout.
    emulator = start_emulator(
        scenario, Faults(slow_rate=1.0, slow_ms=600_000, fault_participants=frozenset({stuck}))
    )
    summary = run_against(emulator, max_run_seconds=5, read_timeout=300)
    assert summary.exit_code == 3
    ok, _ = assert_exact_or_failed(database, emulator, summary.tally.run_id)
    assert ok >= 1, "what was scanned before the deadline is loaded"
    reasons = query(
        database,
        "select participant_id, error_code, error_message from ivs_realtime.participant_scans "
        "where status = 'failed'",
    )
    # The others are quick, but on a loaded machine one may still be in flight at the deadline.
    assert {code for _, code, _ in reasons} == {"RunDeadlineExceeded"}
    assert stuck in {pid for pid, _, _ in reasons}
    assert all("max_run_seconds = 5" in message for _, _, message in reasons)


@pytest.mark.slow
def test_a_command_line_run_ends_at_its_deadline_despite_a_hung_call(
    start_emulator: StartFn, tmp_path: Path
) -> None:
    """The hung call's thread must not keep the process alive once the run is done."""
    scenario = generate_scenario(participants=3, replicas_per_participant=5)
    stuck = scenario.participant_refs()[0]["participant_id"]
    emulator = start_emulator(
        scenario, Faults(slow_rate=1.0, slow_ms=600_000, fault_participants=frozenset({stuck}))
    )
    with (tmp_path / "participants.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["source_stage_arn", "participant_id"])
        writer.writeheader()
        writer.writerows(scenario.participant_refs())
    result = subprocess.run(
        [SCRIPT, "run", "--participants", "participants.csv", "--db", "replicas.duckdb"],
        cwd=tmp_path,
        env={
            **os.environ,
            "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
            "SOURCES__IVS_REALTIME__MAX_RUN_SECONDS": "3",
            "SOURCES__IVS_REALTIME__READ_TIMEOUT": "300",
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "x RunDeadlineExceeded" in result.stdout


def closed_port_url() -> str:
    """The URL of a loopback port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_endpoint_no_participant_could_reach_fails_the_run_but_is_recorded(
    database: Path, no_backoff: None
) -> None:
    scenario = generate_scenario(participants=3, replicas_per_participant=1)
    with pytest.raises(FatalRunError, match="the endpoint could not be reached for any of the 3"):
        runner.run(
            database,
            participants=scenario.participant_refs(),
            credentials=AwsCredentials(
                aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET
            ),
            endpoint_url=closed_port_url(),
            requests_per_second=0,
            max_attempts=2,
            scan_attempts=1,
        )
    assert query(
        database,
        "select status, error_code, count(*) from ivs_realtime.participant_scans group by all",
    ) == [("failed", "EndpointConnectionError", 3)]


def test_retries_exhausted_fail_only_that_participant(
    start_emulator: StartFn, run_against: RunFn, database: Path, no_backoff: None
) -> None:
    scenario = generate_scenario(participants=4, replicas_per_participant=60)
    broken = scenario.participant_refs()[2]["participant_id"]
    emulator = start_emulator(
        scenario, Faults(error_rate=1.0, fault_participants=frozenset({broken}))
    )
    summary = run_against(emulator, max_attempts=3)
    assert summary.exit_code == 3
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (3, 1)
    failed = query(
        database,
        "select participant_id, error_code from ivs_realtime.participant_scans where status = 'failed'",
    )
    assert failed[0][0] == broken
    assert failed[0][1] in {"InternalServerException", "ServiceUnavailableException"}


def test_cycling_pagination_fails_the_participant_and_ends(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=3, replicas_per_participant=120)
    looping = scenario.participant_refs()[0]["participant_id"]
    emulator = start_emulator(scenario, Faults(cycle_participants=frozenset({looping})))
    summary = run_against(emulator)
    assert summary.exit_code == 3
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (2, 1)
    assert query(
        database, "select error_code from ivs_realtime.participant_scans where status = 'failed'"
    ) == [("PaginationError",)]


def test_rejected_credentials_fail_the_whole_run(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(participants=30, replicas_per_participant=2)
    emulator = start_emulator(scenario, Faults(rejected_access_key_ids=frozenset({FAKE_KEY_ID})))
    with pytest.raises(FatalRunError, match="credentials"):
        run_against(emulator)
    assert emulator.stats.snapshot()["auth_failures"] < 30, "the run stopped early"
    emulator.set_faults(Faults())
    summary = run_against(emulator)
    assert query(database, "select count(distinct run_id) from ivs_realtime.participant_scans") == [
        (1,)
    ]
    assert assert_exact_or_failed(database, emulator, summary.tally.run_id) == (30, 0)


def test_every_participant_denied_is_fatal_but_recorded(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(
        participants=4, replicas_per_participant=2, participants_per_stage=2
    )
    stages = frozenset(ref["source_stage_arn"] for ref in scenario.participant_refs())
    emulator = start_emulator(scenario, Faults(access_denied_stages=stages))
    with pytest.raises(FatalRunError, match="access denied for all 4"):
        run_against(emulator)
    assert query(
        database, "select status, count(*) from ivs_realtime.participant_scans group by 1"
    ) == [("failed", 4)]


@pytest.mark.slow
def test_chaos_three_regions_quota_and_every_fault(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    scenario = generate_scenario(
        participants=60, replicas_per_participant=[0, 1, 30, 75, 120], regions=REGIONS, seed=7
    )
    refs = scenario.participant_refs()
    faults = Faults(
        requests_per_second=5,
        error_rate=0.06,
        drop_rate=0.03,
        malformed_rate=0.03,
        slow_rate=0.03,
        slow_ms=1200,
        access_denied_stages=frozenset({refs[5]["source_stage_arn"]}),
        cycle_participants=frozenset({refs[14]["participant_id"]}),
        empty_page_participants=frozenset({refs[19]["participant_id"]}),
        duplicate_across_pages=frozenset({refs[23]["participant_id"]}),
        seed=11,
    )
    emulator = start_emulator(scenario, faults)
    summary = run_against(emulator, requests_per_second=5, read_timeout=1.0, max_attempts=8)
    ok, failed = assert_exact_or_failed(database, emulator, summary.tally.run_id)
    reasons = dict(
        query(
            database,
            "select error_code, count(*) from ivs_realtime.participant_scans where status = 'failed' group by 1",
        )
    )
    denied_stage = refs[5]["source_stage_arn"]
    assert reasons.get("AccessDeniedException") == sum(
        ref["source_stage_arn"] == denied_stage for ref in refs
    )
    assert reasons.get("PaginationError") == 1
    assert "ThrottlingException" not in reasons, "no participant lost to throttling"
    assert ok + failed == 60
    assert failed == sum(reasons.values())
