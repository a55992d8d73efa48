"""Analysts and scheduled runs never block each other, and analysts see whole runs only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ivs_realtime_emulator import generate_scenario

from .helpers import loaded_replicas, query, sorted_rows
from .test_operations import StartFn, finish, start_run, write_participants

# An analyst in a process of its own: a connection held open (read-only, or read-write as the
# DuckDB CLI and DBeaver open a file), or a dashboard that reconnects for every query. Each
# query reads the ledger and a view; every result or error is one JSON line.
ANALYST = """
import json, sys, time, duckdb
path, mode, stop_file = sys.argv[1], sys.argv[2], sys.argv[3]
LEDGER = "select run_id, count(*) from ivs_realtime.participant_scans group by run_id"
VIEW = "select count(*) from ivs_realtime.replicas_current"

def ask(connection):
    connection.execute("set enable_progress_bar = false")  # it would write into the JSON lines
    return {"runs": dict(connection.execute(LEDGER).fetchall()),
            "current": connection.execute(VIEW).fetchone()[0]}

held = None if mode == "dashboard" else duckdb.connect(path, read_only=(mode == "read_only"))
print("ready", flush=True)
import os
while not os.path.exists(stop_file):
    try:
        if held is None:
            with duckdb.connect(path, read_only=True) as connection:
                answer = ask(connection)
        else:
            answer = ask(held)
        print(json.dumps(answer), flush=True)
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
    time.sleep(0.05)
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["read_only", "read_write", "dashboard"])
def test_runs_succeed_while_an_analyst_holds_the_file_and_it_sees_whole_runs(
    start_emulator: StartFn, tmp_path: Path, mode: str
) -> None:
    scenario = generate_scenario(participants=6, replicas_per_participant=[0, 2, 5])
    emulator = start_emulator(scenario)
    write_participants(scenario, tmp_path / "participants.csv")
    database = tmp_path / "replicas.duckdb"
    code, _, err = finish(start_run(emulator, tmp_path))
    assert code == 0, err

    stop_file = tmp_path / "stop"
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(database), mode, str(stop_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert analyst.stdout is not None
    assert analyst.stdout.readline().strip() == "ready"

    for _ in range(3):
        code, out, err = finish(start_run(emulator, tmp_path))
        assert code == 0, err
        assert "published" in out

    stop_file.touch()
    answers = read_answers(analyst)
    assert answers, "the analyst asked nothing"
    errors = [answer["error"] for answer in answers if "error" in answer]
    assert errors == [], errors[:3]
    for answer in answers:
        assert all(count == 6 for count in answer["runs"].values()), "half a run"
    runs_seen = [len(answer["runs"]) for answer in answers]
    if mode == "dashboard":
        assert max(runs_seen) == 4, "the dashboard sees every new run"
    else:
        assert set(runs_seen) == {1}, "a held connection keeps reading the file it opened"
    assert query(database, "select count(distinct run_id) from ivs_realtime.participant_scans") == [
        (4,)
    ]
    run_ids = [
        row[0]
        for row in query(database, "select distinct run_id from ivs_realtime.participant_scans")
    ]
    for run_id in run_ids:
        assert loaded_replicas(database, run_id) == sorted_rows(scenario.expected_replicas(0))


def read_answers(process: subprocess.Popen[str]) -> list[dict[str, object]]:
    """Every answer an analyst printed, after it stopped."""
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]
