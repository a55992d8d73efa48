"""Dataset names mean one schema everywhere, and a pending package only ever resumes into its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from dlt.common.configuration.specs import AwsCredentials
from ivs_realtime_emulator import generate_scenario
from ivs_replicas.errors import BadInputError
from ivs_replicas.pipeline import make_pipeline
from ivs_replicas.sources.ivs_realtime import RunTally, ivs_realtime
from ivs_replicas.storage import DuckDbFile

from .helpers import FAKE_KEY_ID, FAKE_SECRET, RunFn, query
from .test_operations import StartFn


@pytest.mark.parametrize(
    ("dataset", "words"),
    [
        ("my-data", "pass --dataset my_data"),
        ("a b", "pass --dataset a_b"),
        ("a.b", "pass --dataset a_b"),
        ("Donnees", "pass --dataset donnees"),
        ("données", "lowercase letters"),
        ("replicas", "also the name of the database"),
    ],
    ids=["dash", "space", "dot", "capital", "accent", "database-name"],
)
def test_a_dataset_name_dlt_would_change_is_refused_before_any_call(
    start_emulator: StartFn, run_against: RunFn, database: Path, dataset: str, words: str
) -> None:
    emulator = start_emulator(generate_scenario(participants=1, replicas_per_participant=1))
    with pytest.raises(BadInputError, match=words):
        run_against(emulator, dataset=dataset)
    assert emulator.stats.total_requests == 0
    assert not database.exists()


def test_a_plain_dataset_name_is_loaded_viewed_and_published_under_that_name(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=2))
    summary = run_against(emulator, dataset="team_a")
    assert summary.dataset == "team_a"
    assert query(database, "select count(*) from team_a.replicas_current") == [(4,)]


@pytest.mark.slow
def test_a_pending_package_resumes_into_its_own_dataset_only(
    start_emulator: StartFn, run_against: RunFn, database: Path
) -> None:
    emulator = start_emulator(generate_scenario(participants=3, replicas_per_participant=2))
    store = DuckDbFile(database.resolve())
    store.prepare()
    interrupted = make_pipeline(store.destination(), "team_a", store.pipelines_dir("team_a"))
    interrupted.extract(
        ivs_realtime(
            participants=emulator.scenario.participant_refs(),
            credentials=AwsCredentials(
                aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET
            ),
            endpoint_url=emulator.url,
            requests_per_second=0,
            tally=RunTally(),
        )
    )
    assert interrupted.has_pending_data

    other = run_against(emulator, dataset="team_b")
    assert other.resumed_packages == []
    assert query(database, "select count(*) from team_b.participant_scans") == [(3,)]
    schemas = {row[0] for row in query(database, "select schema_name from duckdb_schemas()")}
    assert "team_a" not in schemas

    own = run_against(emulator, dataset="team_a")
    assert len(own.resumed_packages) == 1
    assert query(database, "select count(distinct run_id) from team_a.participant_scans") == [(2,)]
