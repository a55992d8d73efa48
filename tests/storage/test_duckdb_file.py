"""The analysts' file is replaced whole, never half, and never taken over when it isn't ours."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from ivs_realtime_emulator import Emulator, generate_scenario
from ivs_replicas.errors import BadInputError
from ivs_replicas.storage.duckdb_file import DuckDbFile

from ..helpers import RunFn

# An analyst's connection held across a publication: reads, waits, reads again.
HOLD_AND_READ = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
query = "select distinct generation from ivs_realtime.generations"
print(connection.execute(query).fetchone()[0], flush=True)
sys.stdin.readline()
print(connection.execute(query).fetchone()[0], flush=True)
"""
PUBLISH_FOREVER = """
import sys, duckdb
from pathlib import Path
from ivs_replicas.storage.duckdb_file import DuckDbFile
store = DuckDbFile(Path(sys.argv[1]))
generation = int(sys.argv[2])
while True:
    generation += 1
    with duckdb.connect(str(store.working_database)) as connection:
        connection.execute("create or replace table ivs_realtime.generations as "
                           "select ? as generation, i from range(200000) t(i)", [generation])
    store.publish()
    print(generation, flush=True)
"""


def make_working_store(store: DuckDbFile, generation: int = 1) -> None:
    """A working store holding the tables a run makes, plus one generation of rows."""
    store.prepare()
    with duckdb.connect(str(store.working_database)) as connection:
        connection.execute("create schema if not exists ivs_realtime")
        connection.execute("create table if not exists ivs_realtime.participant_scans (x int)")
        connection.execute("create table if not exists ivs_realtime._dlt_loads (x int)")
        connection.execute(
            "create or replace table ivs_realtime.generations as "
            "select ? as generation, i from range(200000) t(i)",
            [generation],
        )


def generations(path: Path) -> list[tuple[int, int]]:
    """(generation, row count) of the file's one table: a whole publication has one of each."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(
            "select generation, count(*) from ivs_realtime.generations group by all"
        ).fetchall()


def test_publishing_replaces_the_file_while_a_reader_keeps_the_old_one(tmp_path: Path) -> None:
    store = DuckDbFile(tmp_path / "replicas.duckdb")
    make_working_store(store, generation=1)
    store.publish()
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_READ, str(store.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    assert reader.stdout.readline().split() == ["1"]
    make_working_store(store, generation=2)
    published = store.publish()
    out, _ = reader.communicate("again\n", timeout=30)
    assert out.split() == ["1"], "the reader that held the old file keeps reading it"
    assert generations(store.path) == [(2, 200000)]
    assert published.bytes == store.path.stat().st_size


def test_an_analyst_holding_the_file_read_write_does_not_stop_publishing(
    tmp_path: Path,
) -> None:
    store = DuckDbFile(tmp_path / "replicas.duckdb")
    make_working_store(store, generation=1)
    store.publish()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]);"
            " print('ready', flush=True); sys.stdin.read()",
            str(store.path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "ready"
    make_working_store(store, generation=2)
    store.publish()
    assert generations(store.path) == [(2, 200000)]
    holder.communicate("", timeout=30)


def test_a_file_made_before_the_working_store_is_adopted(tmp_path: Path) -> None:
    old = DuckDbFile(tmp_path / "old.duckdb")
    make_working_store(old, generation=7)
    old.publish()
    adopted = DuckDbFile(tmp_path / "replicas.duckdb")
    old.path.rename(adopted.path)
    adopted.prepare()
    assert generations(adopted.working_database) == [(7, 200000)]


@pytest.mark.parametrize(
    ("content", "words"),
    [("a text file\n", "is not a DuckDB database"), (None, "did not make")],
    ids=["text", "foreign-duckdb"],
)
def test_a_file_that_is_not_ours_is_refused_and_left_as_it_is(
    tmp_path: Path, content: str | None, words: str
) -> None:
    path = tmp_path / "analytics.duckdb"
    if content is None:
        with duckdb.connect(str(path)) as connection:
            connection.execute("create table sales as select 1 as amount")
    else:
        path.write_text(content)
    before = path.read_bytes()
    with pytest.raises(BadInputError, match=words):
        DuckDbFile(path).prepare()
    assert path.read_bytes() == before


def test_the_work_folder_is_private(tmp_path: Path) -> None:
    store = DuckDbFile(tmp_path / "replicas.duckdb")
    store.prepare()
    assert store.work_dir.stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_a_kill_while_publishing_never_leaves_a_half_file(tmp_path: Path) -> None:
    store = DuckDbFile(tmp_path / "replicas.duckdb")
    make_working_store(store, generation=0)
    store.publish()
    rng = random.Random(11)
    last_reported = 0
    for _ in range(8):
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISH_FOREVER, str(store.path), str(last_reported)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert publisher.stdout is not None
        first = publisher.stdout.readline()  # publishing is under way: kill at a random moment
        time.sleep(rng.uniform(0.0, 0.4))
        publisher.send_signal(signal.SIGKILL)
        out, _ = publisher.communicate(timeout=30)
        assert publisher.returncode == -signal.SIGKILL
        reported = [int(line) for line in (first + out).split()]
        last_reported = max(reported, default=last_reported)
        ((generation, rows),) = generations(store.path)
        assert rows == 200000
        # Every publication that reported success is there (or a later one).
        assert generation >= last_reported
        store.prepare()
    assert last_reported > 0
    assert not list(tmp_path.glob(".publishing-*"))


def test_the_analysts_file_opens_in_the_duckdb_command_line(
    start_emulator: Callable[..., Emulator], run_against: RunFn, database: Path
) -> None:
    """duckdb-cli 1.5.6 reads the file a run with DuckDB 1.4.4 published."""
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=3))
    assert run_against(emulator).exit_code == 0
    query = "select count(*) from ivs_realtime.replicas_current"
    shell = Path(sys.executable).with_name("duckdb")
    result = subprocess.run(
        [str(shell), "-readonly", "-csv", "-noheader", str(database), "-c", query],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(database), read_only=True) as connection:
        assert result.stdout.split() == [str(connection.execute(query).fetchone()[0])]
