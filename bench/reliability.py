"""Reliability drill: faults under quota, schema drift, a hung endpoint, discovery faults, and
runs killed at random points; counts rows lost.

Run: .venv/bin/python bench/reliability.py [--participants 60] [--kills 10]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
from dlt.common.configuration.specs import AwsCredentials
from ivs_realtime_emulator import Emulator, Faults, generate_scenario
from ivs_replicas import runner

REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
KEY = (
    "source_stage_arn",
    "participant_id",
    "source_session_id",
    "destination_stage_arn",
    "destination_session_id",
    "replication_state",
)
CREDENTIALS = {"aws_access_key_id": "AKIADRILL0000000000", "aws_secret_access_key": "drill"}


def rows_of(database: Path, run_id: str) -> Counter[tuple[str, ...]]:
    """Replica rows loaded for one run, with their multiplicity."""
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.sql(
            f"select {', '.join(KEY)} from ivs_realtime.participant_replicas "
            f"where run_id = '{run_id}'"
        ).fetchall()
    return Counter(rows)


def chaos(participants: int, workdir: Path) -> dict[str, Any]:
    """One run over three regions at 5 TPS with every kind of fault; compare with the truth."""
    scenario = generate_scenario(participants, [0, 1, 30, 75, 120], regions=REGIONS, seed=3)
    refs = scenario.participant_refs()
    faults = Faults(
        requests_per_second=5,
        error_rate=0.06,
        drop_rate=0.03,
        malformed_rate=0.03,
        slow_rate=0.03,
        slow_ms=1200,
        access_denied_stages=frozenset({refs[0]["source_stage_arn"]}),
        cycle_participants=frozenset({refs[-1]["participant_id"]}),
        seed=5,
    )
    database = workdir / "chaos.duckdb"
    with Emulator(scenario, faults=faults) as emulator:
        summary = runner.run(
            database,
            participants=refs,
            credentials=AwsCredentials(**CREDENTIALS),
            endpoint_url=emulator.url,
            requests_per_second=5,
            read_timeout=1.0,
        )
        injected = sum(emulator.stats.snapshot()["faults"].values())
        throttled = emulator.stats.snapshot()["throttled"]
        requests = emulator.stats.snapshot()["total_requests"]
    with duckdb.connect(str(database), read_only=True) as connection:
        scans = connection.sql(
            "select source_stage_arn, participant_id, status, error_code "
            f"from ivs_realtime.participant_scans where run_id = '{summary.tally.run_id}'"
        ).fetchall()
    ok = {(stage, pid) for stage, pid, status, _ in scans if status == "ok"}
    expected = Counter(
        tuple(row[c] for c in KEY)
        for row in scenario.expected_replicas(0)
        if (row["source_stage_arn"], row["participant_id"]) in ok
    )
    loaded = rows_of(database, summary.tally.run_id)
    return {
        "participants": participants,
        "requests": requests,
        "faults injected": injected,
        "throttled answers": throttled,
        "participants ok (exact)": len(ok) if loaded == expected else "MISMATCH",
        "participants failed": Counter(code for *_, status, code in scans if status == "failed"),
        "call retries": summary.tally.calls.retries,
        "page retries": summary.tally.page_retries,
        "participant rescans": summary.tally.rescans,
        "rows loaded": sum(loaded.values()),
        "rows missing": sum((expected - loaded).values()),
        "rows wrong or duplicated": sum((loaded - expected).values()),
    }


def scans_of(database: Path, run_id: str) -> list[tuple[str, str, str, str | None]]:
    """(stage, participant, status, error code) of every ledger row of one run."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(
            "select source_stage_arn, participant_id, status, error_code "
            f"from ivs_realtime.participant_scans where run_id = '{run_id}'"
        ).fetchall()


def drift(participants: int, workdir: Path) -> dict[str, Any]:
    """One run where the answers drift from the service model, and some pages are cut short.

    Every 5th participant's replicas carry a member the model does not know, every 7th has a
    replica whose replicationState is null, and 5% of answers are unreadable JSON.
    """
    scenario = generate_scenario(participants, [1, 30, 75, 120], regions=REGIONS, seed=4)
    ids = [ref["participant_id"] for ref in scenario.participant_refs()]
    faults = Faults(
        unknown_field_participants=frozenset(ids[::5]),
        malformed_replica_participants=frozenset(ids[3::7]),
        malformed_rate=0.05,
        seed=6,
    )
    database = workdir / "drift.duckdb"
    with Emulator(scenario, faults=faults) as emulator:
        summary = runner.run(
            database,
            participants=scenario.participant_refs(),
            credentials=AwsCredentials(**CREDENTIALS),
            endpoint_url=emulator.url,
            requests_per_second=0,
        )
        injected = emulator.stats.snapshot()["faults"]
    scans = scans_of(database, summary.tally.run_id)
    ok = {(stage, pid) for stage, pid, status, _ in scans if status == "ok"}
    expected = Counter(
        tuple(row[c] for c in KEY)
        for row in scenario.expected_replicas(0)
        if (row["source_stage_arn"], row["participant_id"]) in ok
    )
    loaded = rows_of(database, summary.tally.run_id)
    with duckdb.connect(str(database), read_only=True) as connection:
        kept = connection.sql(
            "select count(*) from ivs_realtime.participant_replicas "
            "where unknown_fields is not null"
        ).fetchone()
    return {
        "participants": participants,
        "faults injected": dict(injected),
        "exit code": summary.exit_code,
        "participants ok (exact)": len(ok) if loaded == expected else "MISMATCH",
        "participants failed": Counter(code for *_, status, code in scans if status == "failed"),
        "unknown fields named": ", ".join(sorted(summary.tally.unknown_fields)),
        "rows with unknown_fields": kept[0] if kept else 0,
        "page retries": summary.tally.page_retries,
        "participant rescans": summary.tally.rescans,
        "rows missing": sum((expected - loaded).values()),
        "rows wrong or duplicated": sum((loaded - expected).values()),
    }


def hung(workdir: Path, deadline_seconds: float = 10.0) -> dict[str, Any]:
    """One run where two participants' calls are accepted and never answered in time."""
    scenario = generate_scenario(12, [30], regions=REGIONS[:2], seed=5)
    ids = [ref["participant_id"] for ref in scenario.participant_refs()]
    faults = Faults(slow_rate=1.0, slow_ms=3_600_000, fault_participants=frozenset(ids[4:6]))
    database = workdir / "hung.duckdb"
    with Emulator(scenario, faults=faults) as emulator:
        started = time.monotonic()
        summary = runner.run(
            database,
            participants=scenario.participant_refs(),
            credentials=AwsCredentials(**CREDENTIALS),
            endpoint_url=emulator.url,
            requests_per_second=0,
            read_timeout=900,
            max_run_seconds=deadline_seconds,
        )
        elapsed = time.monotonic() - started
    scans = scans_of(database, summary.tally.run_id)
    return {
        "participants": len(ids),
        "calls never answered": "2 participants (answer after 1 hour, read timeout 15 min)",
        "max_run_seconds": deadline_seconds,
        "run ended after (s)": round(elapsed, 1),
        "exit code": summary.exit_code,
        "participants ok": sum(status == "ok" for *_, status, _ in scans),
        "participants failed": Counter(code for *_, status, code in scans if status == "failed"),
        "rows loaded": sum(rows_of(database, summary.tally.run_id).values()),
    }


def listings_of(database: Path, run_id: str) -> list[tuple[str, str | None, str, int, str | None]]:
    """(operation, stage, status, attempts, error code) of every discovery listing of a run."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(
            "select operation, stage_arn, status, attempts, error_code "
            f"from ivs_realtime.discovery_scans where run_id = '{run_id}'"
        ).fetchall()


def discovery(workdir: Path) -> dict[str, Any]:
    """Discovery over 8 stages in 3 regions with its listings denied or failing on 4 of them;
    then a run without faults. Counts what each run loaded against the truth.

    Stage 0's ListStageSessions and stage 1's ListParticipants are denied; stages 2 and 3 answer
    half their discovery calls with 500/503, and botocore tries each call twice only. Rows lost
    count the truth of every stage whose listings all succeeded, against what the run loaded.
    """
    scenario = generate_scenario(80, [1, 30, 75], regions=REGIONS, seed=7)
    stages = sorted({ref["source_stage_arn"] for ref in scenario.participant_refs()})
    faults = Faults(
        access_denied_by_operation={
            "ListStageSessions": frozenset({stages[0]}),
            "ListParticipants": frozenset({stages[1]}),
        },
        error_rate=0.5,
        fault_operations=frozenset({"ListStageSessions", "ListParticipants"}),
        fault_stages=frozenset(stages[2:4]),
        seed=8,
    )
    truth = Counter(tuple(row[c] for c in KEY) for row in scenario.expected_replicas(0))
    database = workdir / "discovery.duckdb"
    figures: dict[str, Any] = {"stages": len(stages), "participants": len(scenario.participants)}
    with Emulator(scenario, faults=faults) as emulator:
        for name, settings in (("1st run", {"max_attempts": 2}), ("2nd run", {})):
            summary = runner.run(
                database,
                participants=None,
                discover_stages=True,
                discovery_regions=list(REGIONS),
                credentials=AwsCredentials(**CREDENTIALS),
                endpoint_url=emulator.url,
                requests_per_second=0,
                **settings,
            )
            emulator.set_faults(Faults())
            run_id = summary.tally.run_id
            listings = listings_of(database, run_id)
            missed = {stage for _, stage, status, *_ in listings if status == "failed"}
            whole = Counter({key: n for key, n in truth.items() if key[0] not in missed})
            loaded = rows_of(database, run_id)
            figures |= {
                f"{name}: exit code": summary.exit_code,
                f"{name}: listings": len(listings),
                f"{name}: listings retried whole": sum(row[3] > 1 for row in listings),
                f"{name}: listings failed": Counter(
                    f"{operation} {code}"
                    for operation, _, status, _, code in listings
                    if status == "failed"
                ),
                f"{name}: failed stages named": sum(
                    any(stage in line for line in summary.lines()) for stage in missed
                ),
                f"{name}: participants scanned": summary.tally.participants_ok,
                f"{name}: rows loaded": sum(loaded.values()),
                f"{name}: rows lost": sum((whole - loaded).values()),
                f"{name}: rows wrong or duplicated": sum((loaded - truth).values()),
            }
    return figures


def kills(count: int, workdir: Path, seed: int = 1) -> dict[str, Any]:
    """Kill `count` CLI runs at random moments, then run once more; count rows lost or doubled."""
    scenario = generate_scenario(150, [20, 60, 110], regions=REGIONS[:2])
    folder = workdir / "kills"
    folder.mkdir()
    with (folder / "participants.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["source_stage_arn", "participant_id"])
        writer.writeheader()
        writer.writerows(scenario.participant_refs())
    script = str(Path(sys.executable).with_name("ivs-replicas"))
    command = [script, "run", "--participants", "participants.csv", "--db", "k.duckdb"]
    dice = random.Random(seed)
    with Emulator(scenario, faults=Faults(latency_ms=2)) as emulator:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND": "0",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
        killed = 0
        for _ in range(count):
            process = subprocess.Popen(
                command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(dice.uniform(1.0, 6.0))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            process.wait()
        final = subprocess.run(
            command, cwd=folder, env=env, capture_output=True, text=True, check=False
        )
    database = folder / "k.duckdb"
    expected = Counter(tuple(row[c] for c in KEY) for row in scenario.expected_replicas(0))
    with duckdb.connect(str(database), read_only=True) as connection:
        ledger = connection.sql(
            "select run_id, count(*) from ivs_realtime.participant_scans group by 1"
        ).fetchall()
    partial_runs = [run_id for run_id, scans in ledger if scans != len(scenario.participants)]
    lost = doubled = 0
    for run_id, _ in ledger:
        loaded = rows_of(database, run_id)
        lost += sum((expected - loaded).values())
        doubled += sum((loaded - expected).values())
    return {
        "runs started": count + 1,
        "runs killed": killed,
        "final run exit code": final.returncode,
        "runs in the ledger": len(ledger),
        "runs half-visible": len(partial_runs),
        "rows lost in loaded runs": lost,
        "rows duplicated": doubled,
    }


def main() -> None:
    """Run every drill and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with tempfile.TemporaryDirectory() as temp:
        for title, figures in (
            (
                "chaos: 3 regions, 5 TPS quota, faults of every kind",
                chaos(args.participants, Path(temp)),
            ),
            (
                "drift: unknown members, null states, unreadable pages",
                drift(args.participants, Path(temp)),
            ),
            ("hung: calls accepted and never answered, a 10 s deadline", hung(Path(temp))),
            (
                "discovery: listings denied or failing on 4 of 8 stages, then a clean run",
                discovery(Path(temp)),
            ),
            ("kills: SIGKILL at random moments, then one more run", kills(args.kills, Path(temp))),
        ):
            print(f"\n{title}")
            for name, value in figures.items():
                print(f"  {name:<34} {value}")


if __name__ == "__main__":
    main()
