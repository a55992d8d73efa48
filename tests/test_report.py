"""`ivs-replicas report` as a user runs it: time windows, limits, formats, the overview.

In-process (`cli.main`) with capsys, on a small history written straight into a DuckDB file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from ivs_replicas import cli
from ivs_replicas.warehouse.render import render

from .helpers import Invocation
from .views_fixtures import (
    DST_X,
    Scan,
    active,
    at,
    failed,
    history_database,
    ok,
    run_id,
    stopped,
)

Invoke = Callable[..., Invocation]

# The first run sees 25 replicas of p1; the later ones lose one.
FIRST_RUN_REPLICAS = 25
HISTORY = [
    ok(22, "p1", *(active(DST_X, f"dst-{n:02d}") for n in range(FIRST_RUN_REPLICAS))),
    ok(22, "p2", active()),
    ok(23, "p1", *(active(DST_X, f"dst-{n:02d}") for n in range(FIRST_RUN_REPLICAS - 1))),
    ok(23, "p2", active()),
    ok(24, "p1", *(active(DST_X, f"dst-{n:02d}") for n in range(FIRST_RUN_REPLICAS - 1))),
    failed(24, "p2"),
]


def history_file(factory: pytest.TempPathFactory, scans: list[Scan]) -> str:
    """A DuckDB file holding the scans with the views applied (read-only, shared by tests)."""
    path = factory.mktemp("report") / "history.duckdb"
    history_database(scans, path=str(path)).close()
    return str(path)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """HISTORY in a DuckDB file."""
    return history_file(tmp_path_factory, HISTORY)


@pytest.fixture(scope="module")
def many_changes(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB file whose latest run stopped every one of 25 replicas: 25 changes."""
    destinations = [f"dst-{n:02d}" for n in range(FIRST_RUN_REPLICAS)]
    scans = [
        ok(22, "p1", *(active(DST_X, session) for session in destinations)),
        ok(23, "p1", *(stopped(DST_X, session) for session in destinations)),
    ]
    return history_file(tmp_path_factory, scans)


def iso(moment: datetime) -> str:
    """A moment as the ISO text a user would type."""
    return moment.isoformat()


def sections(text: str) -> dict[str, str]:
    """The overview's table format split into its sections, by title."""
    blocks = text.rstrip("\n").split("\n\n")
    return dict(zip(blocks[::2], blocks[1::2], strict=True))


def test_overview_of_many_changes_shows_a_count_and_the_first_rows(
    ivs_replicas: Invoke, many_changes: str
) -> None:
    """Many changes in the latest run: the table shows ten and says how many there are."""
    result = ivs_replicas("report", "--db", many_changes)
    assert result.exit_code == 0, result.err
    changes = sections(result.out)["changes_in_latest_run"].splitlines()
    assert changes[-1] == "(first 10 of 25 rows; --limit N shows more)"
    assert len(changes) == 2 + 10 + 1


def test_overview_limit_sets_the_rows_per_section(ivs_replicas: Invoke, many_changes: str) -> None:
    """--limit N shows N rows of each section, and still the count of them all."""
    result = ivs_replicas("report", "--db", many_changes, "--limit", "3")
    changes = sections(result.out)["changes_in_latest_run"].splitlines()
    assert changes[2 : 2 + 3] == changes[2:-1]
    assert changes[-1] == "(first 3 of 25 rows; --limit N shows more)"


def test_overview_as_json_holds_every_row(ivs_replicas: Invoke, many_changes: str) -> None:
    """Programs get every row unless they pass --limit: JSON is not cut to a screenful."""
    result = ivs_replicas("report", "--db", many_changes, "--format", "json")
    assert len(json.loads(result.out)["changes_in_latest_run"]) == 25
    limited = ivs_replicas("report", "--db", many_changes, "--format", "json", "--limit", "4")
    assert len(json.loads(limited.out)["changes_in_latest_run"]) == 4


def test_overview_keeps_to_the_time_window(ivs_replicas: Invoke, db: str) -> None:
    """--since/--until keep each section's rows in the window, and "latest run" is the window's
    latest; current replicas are unfiltered."""
    result = ivs_replicas(
        "report", "--db", db, "--format", "json", "--since", iso(at(23)), "--until", iso(at(24))
    )
    assert result.exit_code == 0, result.err
    frames = json.loads(result.out)
    assert [run["run_id"] for run in frames["recent_runs"]] == [run_id(23)]
    assert [
        (change["destination_session_id"], change["from_state"], change["to_state"])
        for change in frames["changes_in_latest_run"]
    ] == [(f"dst-{FIRST_RUN_REPLICAS - 1:02d}", "ACTIVE", "GONE")]
    assert frames["failed_scans_in_latest_run"] == []
    assert sum(row["count_replicas"] for row in frames["replicas_by_state"]) == 25


# Eight hourly runs: p2's scan fails in the first; p1 scans until hour 30, p2 until hour 29.
EIGHT_RUNS = [
    ok(22, "p1", active()),
    failed(22, "p2"),
    *(ok(hour, participant) for hour in range(23, 30) for participant in ("p1", "p2")),
    ok(30, "p1"),
]


@pytest.fixture(scope="module")
def eight_runs(tmp_path_factory: pytest.TempPathFactory) -> str:
    """EIGHT_RUNS in a DuckDB file."""
    return history_file(tmp_path_factory, EIGHT_RUNS)


def overview_json(ivs_replicas: Invoke, db: str, *window: str) -> dict[str, list[dict[str, str]]]:
    """The overview as JSON, for a window of --since/--until flags."""
    result = ivs_replicas("report", "--db", db, "--format", "json", *window)
    assert result.exit_code == 0, result.err
    frames: dict[str, list[dict[str, str]]] = json.loads(result.out)
    return frames


def test_overview_of_a_window_in_the_past_shows_its_latest_run(
    ivs_replicas: Invoke, eight_runs: str
) -> None:
    """A window that ends before the latest run: its own latest run, with that run's failures."""
    frames = overview_json(ivs_replicas, eight_runs, "--until", iso(at(23)))
    assert [run["run_id"] for run in frames["recent_runs"]] == [run_id(22)]
    assert [scan["participant_id"] for scan in frames["failed_scans_in_latest_run"]] == ["p2"]
    assert len(frames["changes_in_latest_run"]) == 1


def test_overview_shows_the_five_latest_runs_of_the_window(
    ivs_replicas: Invoke, eight_runs: str
) -> None:
    frames = overview_json(ivs_replicas, eight_runs, "--until", iso(at(29)))
    assert [run["run_id"] for run in frames["recent_runs"]] == [
        run_id(hour) for hour in range(28, 23, -1)
    ]


def test_the_latest_run_of_a_window_ends_in_it(ivs_replicas: Invoke, eight_runs: str) -> None:
    """A run still scanning at --until is among the window's runs, but not its latest run."""
    until = iso(at(22) + timedelta(seconds=1))  # the first run's scans end at 2 s
    frames = overview_json(ivs_replicas, eight_runs, "--until", until)
    assert [run["run_id"] for run in frames["recent_runs"]] == [run_id(22)]
    assert frames["failed_scans_in_latest_run"] == []
    assert frames["changes_in_latest_run"] == []


def test_overview_says_which_section_the_window_leaves_alone(ivs_replicas: Invoke, db: str) -> None:
    """In a table, a section without a time column says the window did not apply to it."""
    result = ivs_replicas("report", "--db", db, "--since", iso(at(23)))
    by_state = sections(result.out)["replicas_by_state"]
    assert by_state.endswith("(not limited by --since: this section has no time column)")
    assert "not limited" not in sections(result.out)["recent_runs"]


@pytest.mark.parametrize(
    ("name", "runs"),
    [("scan_runs", [run_id(23)]), ("participant_scans", [run_id(23), run_id(23)])],
    ids=["view", "table"],
)
def test_since_and_until_bound_a_view_or_table(
    ivs_replicas: Invoke, db: str, name: str, runs: list[str]
) -> None:
    """--since is inclusive, --until exclusive, on the relation's time column."""
    argv = ["report", name, "--db", db, "--format", "json"]
    result = ivs_replicas(*argv, "--since", iso(at(23)), "--until", iso(at(24)))
    assert result.exit_code == 0, result.err
    assert [row["run_id"] for row in json.loads(result.out)] == runs


def test_until_keeps_the_days_that_start_before_it(ivs_replicas: Invoke, db: str) -> None:
    """A `day` column keeps the UTC days that begin before --until."""
    argv = ["report", "replication_daily", "--db", db, "--format", "json"]
    days = {row["day"] for row in json.loads(ivs_replicas(*argv, "--until", iso(at(24))).out)}
    assert days == {"2025-03-01"}
    later = json.loads(ivs_replicas(*argv, "--since", iso(at(24))).out)
    assert {row["day"] for row in later} == {"2025-03-02"}


@pytest.mark.parametrize(
    ("since", "until", "count"),
    [("100000d", None, 6), ("1s", None, 0), (None, "100000d", 0), ("100000d", "1m", 6)],
    ids=["since-long-ago", "since-a-second-ago", "until-long-ago", "window-until-now"],
)
def test_relative_times_count_back_from_now(
    ivs_replicas: Invoke, db: str, since: str | None, until: str | None, count: int
) -> None:
    """`7d`, `24h`, `30m`, `90s` mean that long before now."""
    argv = ["report", "participant_scans", "--db", db, "--format", "json"]
    argv += ["--since", since] if since else []
    argv += ["--until", until] if until else []
    result = ivs_replicas(*argv)
    assert result.exit_code == 0, result.err
    assert len(json.loads(result.out)) == count


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_window_on_a_relation_without_time_is_refused(
    ivs_replicas: Invoke, db: str, flag: str
) -> None:
    """A table or view without a time column refuses the window, naming those that have one."""
    result = ivs_replicas("report", "scanned_participants", "--db", db, flag, "7d")
    assert result.exit_code == 2
    assert f"{flag} does not apply to scanned_participants" in result.err
    assert "scan_runs" in result.err
    assert result.out == ""


def test_window_that_ends_before_it_starts_is_refused(ivs_replicas: Invoke, db: str) -> None:
    """--since at or after --until is bad input."""
    result = ivs_replicas("report", "scan_runs", "--db", db, "--since", "1h", "--until", "2h")
    assert result.exit_code == 2
    assert "is not before --until" in result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "yesterday"], "not an ISO timestamp nor a time ago"),
        (["--limit", "0"], "not a whole number of at least 1"),
        (["--format", "xml"], "invalid choice"),
    ],
    ids=["since", "limit", "format"],
)
def test_bad_report_flags_exit_2(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """argparse refuses what is not a time, a count or a format, naming it."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(["report", "scan_runs", "--db", db, *argv])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_limit_keeps_the_first_rows_in_report_order(ivs_replicas: Invoke, db: str) -> None:
    """`report VIEW --limit N` prints the first N rows of the view's order."""
    result = ivs_replicas("report", "scan_runs", "--db", db, "--format", "json", "--limit", "2")
    assert [row["run_id"] for row in json.loads(result.out)] == [run_id(22), run_id(23)]


def test_markdown_is_a_pipe_table(ivs_replicas: Invoke, db: str) -> None:
    """--format markdown: a header, an alignment row (numbers right), one line per row."""
    result = ivs_replicas("report", "scan_runs", "--db", db, "--format", "markdown")
    lines = result.out.splitlines()
    assert lines[0] == (
        "| run_id | started_at | finished_at | count_participants | count_participants_ok "
        "| count_participants_failed | count_replicas | count_pages |"
    )
    assert lines[1] == "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    assert lines[2].startswith(f"| {run_id(22)} | 2025-03-01T22:00:00Z |")
    assert len(lines) == 2 + 3


def test_markdown_overview_titles_its_sections(ivs_replicas: Invoke, db: str) -> None:
    """Several frames in Markdown each start with a `## name` heading."""
    result = ivs_replicas("report", "--db", db, "--format", "markdown")
    headings = [line for line in result.out.splitlines() if line.startswith("## ")]
    assert headings == [
        "## replicas_by_state",
        "## changes_in_latest_run",
        "## recent_runs",
        "## failed_scans_in_latest_run",
        "## data_quality",
    ]


def test_markdown_escapes_pipes_in_cells() -> None:
    """A `|` inside a cell does not split the row."""
    text = render({"t": pd.DataFrame({"a": ["x|y"]})}, "markdown")
    assert text.splitlines()[2] == "| x\\|y |"


@pytest.mark.parametrize("before", [False, True], ids=["after-the-command", "before-it"])
def test_report_takes_debug_on_either_side_of_its_name(
    ivs_replicas: Invoke, db: str, before: bool
) -> None:
    """`report --debug` and `--debug report` both run the report."""
    argv = ["--debug", "report", "scan_runs"] if before else ["report", "scan_runs", "--debug"]
    result = ivs_replicas(*argv, "--db", db)
    assert result.exit_code == 0, result.err
    assert run_id(24) in result.out


def test_every_command_takes_debug_after_its_name() -> None:
    """Each subcommand's parser accepts --debug; leaving it out keeps the default off."""
    parser = cli.build_parser()
    needs = {"export": ["--out", "x"]}
    commands = next(
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    assert {"run", "report", "export", "demo", "emulator"} <= set(commands)
    for name in commands:
        args, _ = parser.parse_known_args([name, *needs.get(name, []), "--debug"])
        assert args.debug is True, name
        args, _ = parser.parse_known_args([name, *needs.get(name, [])])
        assert args.debug is False, name


def test_timestamp_with_an_offset_is_that_moment(ivs_replicas: Invoke, db: str) -> None:
    """A timestamp with an offset means that moment; one without is UTC."""
    in_tokyo = at(23).astimezone(timezone(timedelta(hours=9))).isoformat()
    argv = ["report", "scan_runs", "--db", db, "--format", "json", "--since"]
    naive = at(23).replace(tzinfo=None).isoformat()
    assert json.loads(ivs_replicas(*argv, in_tokyo).out) == json.loads(
        ivs_replicas(*argv, naive).out
    )
