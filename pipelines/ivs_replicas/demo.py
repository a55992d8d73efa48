"""The demo: scheduled runs against the bundled scenario on the local endpoint, then the report."""

from __future__ import annotations

import shlex
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import duckdb
from dlt.common.configuration.specs import AwsCredentials
from ivs_realtime_emulator import Emulator, load_demo_scenario

from ivs_replicas import runner, warehouse
from ivs_replicas.errors import EXIT_OK, BadInputError
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.sources.ivs_realtime.settings import SCANS_TABLE
from ivs_replicas.storage import DuckDbFile
from ivs_replicas.warehouse.timeline import Window, write_timeline

DEMO_KEY_ID = "AKIADEMO0000000000"
# The demo's mark in the work folder: the ids of the runs it made, one a line. The demo
# replaces only a database with this mark and no other run in it.
DEMO_MARKER: Final = "demo-runs"


def run_demo(database: Path, runs: int | None = None) -> int:
    """Start the local endpoint, make one run per scenario epoch, print the history report."""
    store = DuckDbFile(database.resolve())
    reset_demo_database(store)
    scenario = load_demo_scenario()
    credentials = AwsCredentials(aws_access_key_id=DEMO_KEY_ID, aws_secret_access_key="demo")
    worst = EXIT_OK
    with Emulator(scenario) as endpoint:
        print(f"local IVS Real-Time endpoint at {endpoint.url} serving scenario {scenario.name!r}")
        for number in range(runs or scenario.epochs):
            if number:
                endpoint.advance()
            print(f"\n== scheduled run {number + 1} (scenario epoch {endpoint.epoch})")
            summary = runner.run(
                database,
                DEFAULT_DATASET,
                participants=scenario.participant_refs(),
                credentials=credentials,
                endpoint_url=endpoint.url,
                requests_per_second=50.0,
            )
            record_demo_run(store, summary.tally.run_id)
            print("\n".join(summary.lines()))
            worst = max(worst, summary.exit_code)
    print("\n== replication history")
    limit = warehouse.overview_rows("table")
    print(warehouse.render(warehouse.overview(database, DEFAULT_DATASET, limit=limit), "table"))
    command = (
        f"{ivs_replicas_command()} report replica_state_changes --db {shlex.quote(str(database))}"
    )
    print(f"\nexplore it: {command}")
    print(draw_timeline(database))
    return worst


def ivs_replicas_command() -> str:
    """How to run ivs-replicas from here, as a shell would: the script beside this Python.

    It is rarely on PATH (`make demo` installs into .venv), so the hints print its path,
    relative when it is under the current folder.
    """
    script = Path(sys.executable).with_name("ivs-replicas")
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m ivs_replicas.cli"
    if script.is_relative_to(Path.cwd()):
        script = script.relative_to(Path.cwd())
    return shlex.quote(str(script))


def draw_timeline(database: Path) -> str:
    """Draw the demo's timeline beside its database; say where, or what it needs."""
    page = database.with_name(f"{database.stem}.timeline.html")
    try:
        write_timeline(database, DEFAULT_DATASET, Window(datetime.now(UTC)), html=page)
    except BadInputError as error:
        return f"timeline not drawn: {error}"
    return f"timeline: {page} (open it in a browser; see {ivs_replicas_command()} timeline --help)"


def reset_demo_database(store: DuckDbFile) -> None:
    """Start from an empty demo database; refuse, untouched, any database the demo did not make."""
    check_made_by_demo(store)
    store.path.unlink(missing_ok=True)
    Path(f"{store.path}.wal").unlink(missing_ok=True)
    shutil.rmtree(store.work_dir, ignore_errors=True)
    store.work_dir.mkdir(mode=0o700, parents=True)
    (store.work_dir / DEMO_MARKER).write_text("", encoding="utf-8")


def check_made_by_demo(store: DuckDbFile) -> None:
    """Refuse a database or work folder without the demo's mark, or with runs it did not make."""
    found = [path for path in (store.path, store.work_dir) if path.exists()]
    if not found:
        return
    marker = store.work_dir / DEMO_MARKER
    if not marker.is_file():
        raise BadInputError(
            f"--db {store.path}: {found[0]} exists and the demo did not make it "
            f"(no {DEMO_MARKER} in {store.work_dir}); it is left as it is: choose another --db"
        )
    made = set(marker.read_text(encoding="utf-8").split())
    others = runs_in(store.path) - made if store.path.exists() else set()
    if others:
        raise BadInputError(
            f"--db {store.path} holds {len(others)} run(s) the demo did not make "
            "(ivs-replicas run into it?); it is left as it is: choose another --db"
        )


def runs_in(database: Path) -> set[str]:
    """The run ids in a database's ledger, read without changing the file."""
    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            rows = connection.execute(
                f"select distinct run_id from {DEFAULT_DATASET}.{SCANS_TABLE}"
            ).fetchall()
    except duckdb.Error as error:
        raise BadInputError(
            f"--db {database} cannot be read as the demo's database ({error}); "
            "it is left as it is: choose another --db"
        ) from None
    return {run_id for (run_id,) in rows}


def record_demo_run(store: DuckDbFile, run_id: str) -> None:
    """Add a run the demo made to its mark, so the next demo may replace the database."""
    with (store.work_dir / DEMO_MARKER).open("a", encoding="utf-8") as marker:
        marker.write(f"{run_id}\n")
