"""The DuckLake storage's own decisions: catalogs, names, folders, turns, retries, extensions."""

from __future__ import annotations

import fcntl
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from ivs_replicas import cli
from ivs_replicas.errors import BadInputError
from ivs_replicas.storage import DuckDbFile, DuckLake, check_dataset_name, extensions
from ivs_replicas.storage.config import StorageOptions, storage_for
from ivs_replicas.storage.ducklake import is_conflict, parse_catalog

# Another process holding a SQLite lake's turn until its stdin closes.
HOLD_TURN = """
import sys
from ivs_replicas.storage import DuckLake
with DuckLake(sys.argv[1]).writing():
    print("holding", flush=True)
    sys.stdin.read()
"""


@pytest.mark.parametrize(
    ("given", "url"),
    [
        (
            "postgres:dbname=ivs host=db.internal port=5433 user=loader",
            "postgresql://loader@db.internal:5433/ivs",
        ),
        (
            "postgres:dbname=ivs host=/run/postgresql user=loader",
            "postgresql://loader@/ivs?host=%2Frun%2Fpostgresql",
        ),
        ("postgres:dbname='my lake' user=loader", "postgresql://loader@/my lake"),
        ("postgresql://loader@db.internal/ivs", "postgresql://loader@db.internal/ivs"),
        ("postgres://loader@db.internal/ivs", "postgresql://loader@db.internal/ivs"),
        ("postgres:postgresql://loader@db.internal/ivs", "postgresql://loader@db.internal/ivs"),
    ],
    ids=["key-value", "socket-folder", "quoted-value", "uri", "short-uri", "duckdb-uri"],
)
def test_postgres_catalogs_become_one_url(given: str, url: str) -> None:
    catalog = parse_catalog(given)
    assert (catalog.kind, catalog.postgres_url) == ("postgres", url)
    assert catalog.attach_target() == f"ducklake:postgres:{url}"


def test_a_sqlite_catalog_is_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    catalog = parse_catalog("sqlite:lake/catalog.sqlite")
    assert catalog.sqlite_path == tmp_path / "lake" / "catalog.sqlite"
    assert catalog.dlt_catalog() == f"sqlite:///{tmp_path}/lake/catalog.sqlite"


@pytest.mark.parametrize(
    "given",
    ["postgres:dbname=ivs user=loader password=hunter2", "postgresql://loader:hunter2@db/ivs"],
    ids=["key-value", "uri"],
)
def test_a_password_in_the_catalog_is_refused_without_quoting_it(given: str) -> None:
    with pytest.raises(BadInputError, match="PGPASSWORD") as refused:
        parse_catalog(given)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("given", ["lake.sqlite", "mysql:db=x", "sqlite:", "postgres:"], ids=str)
def test_other_catalogs_are_refused_with_the_forms_that_work(given: str) -> None:
    with pytest.raises(BadInputError, match="sqlite:PATH"):
        parse_catalog(given)


@pytest.mark.parametrize("dataset", ["lake", "memory", "system"])
def test_datasets_named_like_a_catalog_are_refused(dataset: str, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot tell apart"):
        check_dataset_name(dataset, DuckLake(f"sqlite:{tmp_path}/catalog.sqlite"))


def test_a_sqlite_lake_keeps_its_data_beside_the_catalog(tmp_path: Path) -> None:
    assert DuckLake(f"sqlite:{tmp_path}/c.sqlite").data == f"{tmp_path}/c.sqlite.files/"
    assert DuckLake(f"sqlite:{tmp_path}/c.sqlite", "s3://b/lake").data == "s3://b/lake/"


def test_a_postgres_lake_needs_a_data_path() -> None:
    with pytest.raises(BadInputError, match="--lake-data"):
        _ = DuckLake("postgres:dbname=ivs user=loader").data


def test_each_lake_has_its_own_default_work_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    first = DuckLake("postgres:dbname=one user=loader", "/data/one").work_dir
    second = DuckLake("postgres:dbname=two user=loader", "/data/two").work_dir
    assert first.parent == second.parent == tmp_path / "ivs-replicas"
    assert first != second


def test_prepare_creates_the_lake_and_a_private_work_folder(tmp_path: Path) -> None:
    lake = DuckLake(f"sqlite:{tmp_path}/catalog.sqlite", work_folder=tmp_path / "work")
    lake.prepare()
    assert stat.S_IMODE(lake.work_dir.stat().st_mode) == 0o700
    assert lake.pipelines_dir("ivs_realtime").parent.parent == lake.work_dir
    with lake.connect_read_only() as connection:
        assert connection.execute("select current_database()").fetchone() == ("lake",)
        with pytest.raises(duckdb.Error, match="read-only"):
            connection.execute("create schema nope")


def test_a_sqlite_lakes_turn_is_an_flock_beside_the_catalog(tmp_path: Path) -> None:
    lake = DuckLake(f"sqlite:{tmp_path}/catalog.sqlite")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_TURN, lake.catalog],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    with (tmp_path / "catalog.sqlite.lock").open("a") as probe:
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder.communicate("", timeout=30)
        fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert lake.write(lambda: "written") == "written"


def test_a_postgres_lake_takes_no_turns(tmp_path: Path) -> None:
    lake = DuckLake("postgres:dbname=ivs user=loader", str(tmp_path))
    with lake.writing(), lake.writing():
        pass


def conflict_once() -> tuple[list[int], object]:
    """A step that fails like a concurrent DuckLake commit the first time, then succeeds."""
    calls: list[int] = []

    def step() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise duckdb.TransactionException("Transaction conflict - attempting to create view")
        return "done"

    return calls, step


def test_a_step_that_conflicts_with_another_runner_is_repeated(tmp_path: Path) -> None:
    calls, step = conflict_once()
    lake = DuckLake("postgres:dbname=ivs user=loader", str(tmp_path))
    assert lake.write(step) == "done"  # type: ignore[arg-type]
    assert len(calls) == 2


def test_other_failures_are_not_repeated(tmp_path: Path) -> None:
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        raise duckdb.IOException("Unable to connect to Postgres")

    with pytest.raises(duckdb.IOException):
        DuckLake("postgres:dbname=ivs user=loader", str(tmp_path)).write(step)
    assert len(calls) == 1


def step_failed(step: str, error: BaseException) -> PipelineStepFailed:
    """dlt's error for a failed pipeline step."""
    return PipelineStepFailed(
        SimpleNamespace(has_pending_data=True, pipeline_name="ivs_replicas"), step, "l1", error
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (duckdb.TransactionException("Transaction conflict"), True),
        (RuntimeError('duplicate key value violates unique constraint "pg_namespace"'), True),
        (RuntimeError('ERROR:  relation "ducklake_metadata" already exists'), True),
        (RuntimeError("no space left on device"), False),
        (step_failed("load", duckdb.TransactionException("conflict")), True),
        (step_failed("extract", RuntimeError("conflict")), False),
    ],
    ids=[
        "ducklake",
        "postgres-first-attach",
        "postgres-first-tables",
        "other",
        "dlt-load",
        "dlt-extract",
    ],
)
def test_conflicts_are_told_from_other_failures(error: BaseException, expected: bool) -> None:
    assert is_conflict(error) is expected


def test_extensions_come_from_the_installed_packages() -> None:
    config = extensions.offline_config()
    assert config["autoinstall_known_extensions"] is False
    folder = Path(config["extension_directory"]) / f"v{duckdb.__version__}"
    installed = {path.name for path in folder.glob("*/*.duckdb_extension")}
    assert {"ducklake.duckdb_extension", "sqlite_scanner.duckdb_extension"} <= installed


def test_without_the_packages_duckdb_keeps_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb_ext", None)
    extensions.extension_directory.cache_clear()
    try:
        assert extensions.offline_config() == {}
    finally:
        monkeypatch.undo()
        extensions.extension_directory.cache_clear()


def test_flags_choose_the_storage(tmp_path: Path) -> None:
    assert storage_for(StorageOptions(db=tmp_path / "x.duckdb")) == DuckDbFile(
        tmp_path / "x.duckdb"
    )
    lake = storage_for(StorageOptions(lake=f"sqlite:{tmp_path}/c.sqlite", work_dir=tmp_path))
    assert isinstance(lake, DuckLake)
    assert lake.work_dir == tmp_path


def test_without_flags_the_storage_section_chooses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE__LAKE", "postgres:dbname=ivs user=loader")
    monkeypatch.setenv("STORAGE__LAKE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("STORAGE__WORK_DIR", str(tmp_path / "work"))
    lake = storage_for(StorageOptions())
    assert isinstance(lake, DuckLake)
    assert (lake.data, lake.work_dir) == (f"{tmp_path}/data/", tmp_path / "work")
    assert isinstance(storage_for(StorageOptions(db=tmp_path / "x.duckdb")), DuckDbFile)


def test_without_flags_or_section_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STORAGE__LAKE", raising=False)
    assert storage_for(StorageOptions()) == DuckDbFile(tmp_path / "ivs_replicas.duckdb")
    with pytest.raises(BadInputError, match="need --lake"):
        storage_for(StorageOptions(lake_data=str(tmp_path)))


def test_db_and_lake_are_one_or_the_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["report", "--db", "x.duckdb", "--lake", "sqlite:x.sqlite"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
