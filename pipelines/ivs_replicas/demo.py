"""The demo: scheduled runs against the bundled scenario on the local endpoint, then the report."""

from __future__ import annotations

import shutil
from pathlib import Path

from dlt.common.configuration.specs import AwsCredentials
from ivs_realtime_emulator import Emulator, load_demo_scenario

from ivs_replicas import runner, warehouse
from ivs_replicas.errors import EXIT_OK, BadInputError
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.storage import DuckDbFile

DEMO_KEY_ID = "AKIADEMO0000000000"


def run_demo(database: Path, runs: int | None = None) -> int:
    """Start the local endpoint, make one run per scenario epoch, print the history report."""
    reset_demo_database(database)
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
            print("\n".join(summary.lines()))
            worst = max(worst, summary.exit_code)
    print("\n== replication history")
    print(warehouse.render(warehouse.overview(database, DEFAULT_DATASET), "table"))
    print(f"\nexplore it: ivs-replicas report replica_state_changes --db {database}")
    return worst


def reset_demo_database(database: Path) -> None:
    """Start from an empty demo database; never remove a database the demo did not make."""
    pipelines_dir = DuckDbFile(database.resolve()).work_dir
    if database.exists() and not pipelines_dir.exists():
        raise BadInputError(f"{database} exists and was not made by the demo: choose another --db")
    database.unlink(missing_ok=True)
    Path(f"{database}.wal").unlink(missing_ok=True)
    shutil.rmtree(pipelines_dir, ignore_errors=True)
    database.parent.mkdir(parents=True, exist_ok=True)
