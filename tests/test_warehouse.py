"""The DuckDB side: reading views, the report, the Parquet export, a reader meeting a writer."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from ivs_replicas import cli, synthetic_history
from ivs_replicas.errors import BadInputError, DatabaseBusyError
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.sources.ivs_realtime.settings import REPLICAS_TABLE, SCANS_TABLE
from ivs_replicas.warehouse import catalog, derived, export, report, views
from ivs_replicas.warehouse.render import render

from .views_fixtures import DST_Y, active, at, failed, history_database, ok, run_id, stopped

HISTORY = [
    ok(22, "p1", active(), stopped(DST_Y, "dst-session-y")),
    ok(22, "p2", active()),
    ok(23, "p1", active(), active(DST_Y, "dst-session-y")),
    ok(23, "p2", active()),
    ok(24, "p1", active(DST_Y, "dst-session-y")),
    failed(24, "p2"),
]
HOLD_WRITE_CONNECTION = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A database file holding HISTORY with the views applied."""
    path = tmp_path / "ivs_replicas.duckdb"
    history_database(HISTORY, path=str(path)).close()
    return path


@pytest.fixture
def writer() -> Iterator[Callable[[Path], None]]:
    """Start another process that holds a write connection to a database until the test ends."""
    processes: list[subprocess.Popen[str]] = []

    def hold(path: Path) -> None:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_CONNECTION, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"

    yield hold
    for process in processes:
        process.communicate(input="", timeout=30)


def exported_rows(folder: Path, name: str, reader: str) -> int:
    """Rows of one exported table or view, read back by pandas, pyarrow or DuckDB."""
    path = folder / export.export_name(name)
    if reader == "pandas":
        return len(pd.read_parquet(path))
    if reader == "pyarrow":
        return pq.read_table(path).num_rows
    pattern = f"{path}/**/*.parquet" if path.is_dir() else str(path)
    query = f"select count(*) from read_parquet('{pattern}', hive_partitioning = true)"
    with duckdb.connect() as connection:
        return int(connection.execute(query).fetchall()[0][0])


@pytest.mark.parametrize("reader", ["pandas", "pyarrow", "duckdb"])
def test_export_reads_back_with_the_same_row_counts(
    database: Path, tmp_path: Path, reader: str
) -> None:
    """Every exported table and view reads back with as many rows as the database has."""
    counts = export.export_parquet(database, tmp_path / "export", DEFAULT_DATASET)
    with duckdb.connect(str(database), read_only=True) as connection:
        expected = {
            name: connection.execute(f"select count(*) from {DEFAULT_DATASET}.{name}").fetchone()
            for name in counts
        }
    assert set(counts) == {
        *(set(views.SOURCE_SCHEMAS) - {"_dlt_loads"}),
        *catalog.view_names(),
    }
    assert {name: (rows,) for name, rows in counts.items()} == expected
    assert {name: exported_rows(tmp_path / "export", name, reader) for name in counts} == counts


def test_export_partitions_replicas_by_utc_day(database: Path, tmp_path: Path) -> None:
    """participant_replicas is split into observed_day=YYYY-MM-DD folders."""
    export.export_parquet(database, tmp_path, DEFAULT_DATASET)
    folders = sorted(path.name for path in (tmp_path / REPLICAS_TABLE).iterdir())
    days = pd.read_parquet(tmp_path / REPLICAS_TABLE)["observed_day"].astype(str)
    assert folders == ["observed_day=2025-03-01", "observed_day=2025-03-02"]
    assert sorted(days.unique()) == ["2025-03-01", "2025-03-02"]


def test_reexport_replaces_and_never_duplicates(database: Path, tmp_path: Path) -> None:
    """Exporting twice into one folder leaves the same rows and no staging folders."""
    out = tmp_path / "export"
    first = export.export_parquet(database, out, DEFAULT_DATASET)
    second = export.export_parquet(database, out, DEFAULT_DATASET)
    assert second == first
    assert {name: exported_rows(out, name, "pyarrow") for name in first} == first
    assert sorted(path.name for path in out.iterdir()) == sorted(
        export.export_name(name) for name in first
    )


def test_export_works_while_the_database_is_open_read_only(database: Path, tmp_path: Path) -> None:
    """A reader holding the file open does not stop the export."""
    with duckdb.connect(str(database), read_only=True) as reader:
        counts = export.export_parquet(database, tmp_path, DEFAULT_DATASET)
        assert reader.execute(f"select count(*) from {DEFAULT_DATASET}.scans").fetchone() == (
            counts["scans"],
        )


def test_export_of_a_database_without_views_says_what_to_do(tmp_path: Path) -> None:
    """An old database without the views fails with a message naming the fix."""
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as connection:
        views.create_source_tables(connection, DEFAULT_DATASET)
    with pytest.raises(BadInputError, match="ivs-replicas run"):
        export.export_parquet(path, tmp_path / "export", DEFAULT_DATASET)


READERS: dict[str, Callable[[Path, Path], object]] = {
    "report": lambda path, _: report.overview(path, DEFAULT_DATASET),
    "view": lambda path, _: report.query_view(path, DEFAULT_DATASET, "scan_runs"),
    "export": lambda path, out: export.export_parquet(path, out, DEFAULT_DATASET),
}


@pytest.mark.parametrize("command", list(READERS), ids=list(READERS))
def test_reader_meeting_a_writer_gets_database_busy(
    database: Path, tmp_path: Path, writer: Callable[[Path], None], command: str
) -> None:
    """While another process writes, readers fail with DatabaseBusyError naming the file."""
    writer(database)
    with pytest.raises(DatabaseBusyError, match="being written by another process") as error:
        READERS[command](database, tmp_path / "export")
    assert str(database) in str(error.value)


def test_every_view_and_column_carries_its_description(database: Path) -> None:
    """sql/schema.yml's descriptions are comments in the file: DBeaver and duckdb_columns()."""
    with duckdb.connect(str(database), read_only=True) as connection:
        views_comments = dict(
            connection.execute(
                "select view_name, comment from duckdb_views() where schema_name = ?",
                [DEFAULT_DATASET],
            ).fetchall()
        )
        columns_comments = {
            (table, column): comment
            for table, column, comment in connection.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = ?",
                [DEFAULT_DATASET],
            ).fetchall()
        }
    relations = [relation for relation in catalog.catalogue().values() if relation.kind == "view"]
    assert relations
    for relation in relations:
        assert views_comments[relation.name].startswith(relation.grain)
        assert {
            column.name: columns_comments[relation.name, column.name] for column in relation.columns
        } == {column.name: column.description for column in relation.columns}


def test_missing_database_is_bad_input(tmp_path: Path) -> None:
    """A database path that does not exist is reported as such."""
    with pytest.raises(BadInputError, match="database file not found"):
        report.query_view(tmp_path / "none.duckdb", DEFAULT_DATASET, "scan_runs")


def test_unknown_view_is_bad_input(database: Path) -> None:
    """An unknown view name lists the valid views and tables."""
    with pytest.raises(
        BadInputError, match=r"choose one of: .*participant_replicas.*replicas_current"
    ):
        report.query_view(database, DEFAULT_DATASET, "replicas")


def test_unknown_dataset_is_bad_input(database: Path) -> None:
    """A dataset the database does not have is named."""
    with pytest.raises(BadInputError, match="no dataset 'elsewhere'"):
        report.query_view(database, "elsewhere", "scan_runs")


@pytest.mark.parametrize(
    ("view", "count"),
    [
        ("replica_state_changes", 2),
        ("replica_state_intervals", 1),
        ("replication_daily", 4),
        ("scan_runs", 2),
        ("replicas_current", 1),
        ("replica_timeline", 1),
        ("loaded_scans", 4),
        ("loaded_replicas", 4),
        (SCANS_TABLE, 4),
        (REPLICAS_TABLE, 4),
    ],
    ids=[
        "changes",
        "intervals",
        "daily",
        "runs",
        "current",
        "timeline",
        *(["loaded"] * 2),
        *(["table"] * 2),
    ],
)
def test_since_filters_on_the_main_timestamp(database: Path, view: str, count: int) -> None:
    """--since keeps the rows whose main timestamp (or UTC day) is at or after it."""
    frame = report.query_view(database, DEFAULT_DATASET, view, since=at(23))
    assert len(frame) == count


def test_since_does_not_apply_without_a_timestamp(database: Path) -> None:
    """A view without a timestamp refuses --since."""
    with pytest.raises(BadInputError, match="no timestamp"):
        report.query_view(database, DEFAULT_DATASET, "scanned_participants", since=at(1))


@pytest.mark.parametrize(
    ("name", "since", "count"),
    [("replica_timeline", "2020-01-01", 3), (REPLICAS_TABLE, "2025-03-01T23:00:00", 4)],
    ids=["view", "table"],
)
def test_report_command_filters_any_table_or_view_since_a_time(
    database: Path, capsys: pytest.CaptureFixture[str], name: str, since: str, count: int
) -> None:
    """`ivs-replicas report NAME --since T` prints a view's or a loaded table's rows from T on."""
    argv = ["report", name, "--db", str(database), "--since", since, "--format", "json"]
    assert cli.main(argv) == 0
    assert len(json.loads(capsys.readouterr().out)) == count


def test_overview_shows_the_latest_run(database: Path) -> None:
    """The overview: current replicas by state, the latest run's changes and failures."""
    frames = report.overview(database, DEFAULT_DATASET)
    changes = frames["changes_in_latest_run"]
    assert frames["replicas_by_state"][["replication_state", "count_replicas"]].values.tolist() == [
        ["ACTIVE", 2]
    ]
    assert changes[["participant_id", "from_state", "to_state"]].values.tolist() == [
        ["p1", "ACTIVE", "GONE"]
    ]
    assert frames["recent_runs"]["run_id"].tolist() == [run_id(24), run_id(23), run_id(22)]
    assert frames["failed_scans_in_latest_run"][
        ["participant_id", "error_code"]
    ].values.tolist() == [["p2", "ThrottlingException"]]


@pytest.fixture
def frames(database: Path) -> dict[str, pd.DataFrame]:
    """Two small frames to render: runs and daily activity."""
    return {
        "scan_runs": report.query_view(database, DEFAULT_DATASET, "scan_runs"),
        "replication_daily": report.query_view(database, DEFAULT_DATASET, "replication_daily"),
    }


def test_render_table_aligns_columns(frames: dict[str, pd.DataFrame]) -> None:
    """The table format: a header, a rule, aligned rows, numbers to the right, UTC timestamps."""
    lines = render({"scan_runs": frames["scan_runs"]}, "table").splitlines()
    assert lines[0].split() == list(frames["scan_runs"].columns)
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split()[:2] == [run_id(22), "2025-03-01T22:00:00Z"]
    assert len({len(line) for line in lines[:2]}) == 1
    assert lines[2].endswith(" 2")
    assert len(lines[2]) == len(lines[1])


def test_render_table_titles_several_frames(frames: dict[str, pd.DataFrame]) -> None:
    """Several frames are titled by name, one after the other."""
    text = render(frames, "table")
    assert text.startswith("scan_runs\n\nrun_id")
    assert "\n\nreplication_daily\n\nday " in text


def test_render_empty_frame() -> None:
    """An empty frame says so."""
    assert render({"x": pd.DataFrame({"a": []})}, "table") == "(no rows)"


def test_render_csv(frames: dict[str, pd.DataFrame]) -> None:
    """CSV: a header line, one line per row, dates as ISO days, NULL as empty."""
    lines = render({"d": frames["replication_daily"]}, "csv").splitlines()
    assert lines[0] == ",".join(frames["replication_daily"].columns)
    assert lines[1].startswith("2025-03-01,arn:aws:ivs:")
    assert len(lines) == 1 + len(frames["replication_daily"])


def test_render_csv_sections(frames: dict[str, pd.DataFrame]) -> None:
    """Several frames in CSV each start with a '# name' line."""
    text = render(frames, "csv")
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        "# scan_runs",
        "# replication_daily",
    ]


def test_render_json(frames: dict[str, pd.DataFrame]) -> None:
    """JSON: one frame is an array of objects; several are an object of arrays."""
    single = json.loads(render({"scan_runs": frames["scan_runs"]}, "json"))
    several = json.loads(render(frames, "json"))
    assert single[0] == {
        "run_id": run_id(22),
        "started_at": "2025-03-01T22:00:00Z",
        "finished_at": "2025-03-01T22:00:02Z",
        "count_participants": 2,
        "count_participants_ok": 2,
        "count_participants_failed": 0,
        "count_replicas": 3,
        "count_pages": 2,
    }
    assert list(several) == ["scan_runs", "replication_daily"]
    assert several["replication_daily"][0]["day"] == "2025-03-01"


def test_render_unknown_format(frames: dict[str, pd.DataFrame]) -> None:
    """An unknown format is bad input."""
    with pytest.raises(BadInputError, match="unknown format"):
        render(frames, "xml")


def synthetic_outcome(seed: int) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Rows per table of a small synthetic history, and its changes per target state."""
    with duckdb.connect() as connection:
        sizes = synthetic_history.generate_history(connection, DEFAULT_DATASET, 20, 500, seed)
        views.apply_views(connection, DEFAULT_DATASET)
        derived.maintain(connection, DEFAULT_DATASET)
        changes = connection.execute(
            f"select to_state, count(*) from {DEFAULT_DATASET}.replica_state_changes "
            "group by to_state order by to_state"
        ).fetchall()
    return sizes, changes


def test_synthetic_history_is_deterministic() -> None:
    """The same seed fills the same history, with changes of every kind."""
    sizes, changes = synthetic_outcome(2)
    assert synthetic_outcome(2) == (sizes, changes)
    assert sizes[SCANS_TABLE] == 11 * 500
    assert [state for state, _ in changes] == ["ACTIVE", "GONE", "STOPPED"]


def test_rebuild_command_recomputes_the_derived_tables(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ivs-replicas rebuild --db` recomputes what was lost from the derived tables, and publishes."""
    with duckdb.connect(str(database), read_only=True) as connection:
        before = connection.execute(
            f"select * from {DEFAULT_DATASET}.replica_state_intervals order by all"
        ).fetchall()
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"delete from {DEFAULT_DATASET}.derived_intervals")
    assert cli.main(["rebuild", "--db", str(database)]) == 0
    assert "rebuilt the derived tables" in capsys.readouterr().out
    with duckdb.connect(str(database), read_only=True) as connection:
        after = connection.execute(
            f"select * from {DEFAULT_DATASET}.replica_state_intervals order by all"
        ).fetchall()
    assert after == before
    assert len(after) == 4


@pytest.mark.slow
def test_a_lake_derives_what_a_duckdb_file_derives(tmp_path: Path) -> None:
    """Maintenance load by load, and a rebuild, give a DuckLake the file's views and comments."""
    from ivs_replicas.storage import DuckLake

    from .views_fixtures import load, view_columns, view_rows

    lake = DuckLake(f"sqlite:{tmp_path / 'lake.sqlite'}", str(tmp_path / "lake-data"))
    lake.prepare()
    history = [*HISTORY, ok(25, "p2", active())]
    with duckdb.connect() as file, lake.connect() as lake_connection:
        results = []
        for connection in (file, lake_connection):
            connection.execute("set TimeZone = 'UTC'")
            views.apply_views(connection, DEFAULT_DATASET)
            for hour in sorted({scan.hour for scan in history}):
                load(connection, [scan for scan in history if scan.hour == hour])
                derived.maintain(connection, DEFAULT_DATASET)
            maintained = {
                view: view_rows(connection, view, view_columns(connection, view))
                for view in catalog.view_names()
            }
            derived.rebuild(connection, DEFAULT_DATASET)
            rebuilt = {
                view: view_rows(connection, view, view_columns(connection, view))
                for view in catalog.view_names()
            }
            comment = connection.execute(
                "select comment from duckdb_views() where view_name = 'scans'"
            ).fetchone()
            results.append((maintained, rebuilt, comment))
    (file_maintained, file_rebuilt, file_comment), lake_result = results
    assert file_maintained == file_rebuilt
    assert lake_result == (file_maintained, file_rebuilt, file_comment)
    assert file_maintained["replica_state_changes"]
