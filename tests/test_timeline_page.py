"""`ivs-replicas timeline`: the page draws every period in headless Chromium, offline; the PNG.

The history is hand-written (views_fixtures) with replication events added, so the replication
periods, their exact times, first sightings, ongoing and stale ones and the failed scans are
known exactly.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from ivs_replicas import cli
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.warehouse.timeline import page

from .views_fixtures import (
    DST_X,
    DST_Y,
    SRC_A,
    SRC_B,
    Scan,
    active,
    at,
    failed,
    history_database,
    ok,
    stopped,
)

# pub into dst-x: seen from the first scan (a first sighting), stopped at hour 2; again, in a
# new destination session, from an exact start event at 3.5, ongoing. pub into dst-y: started
# between hours 0 and 1, exact stop event at 2.5. pub's hour 3 failed. other into dst-x: first
# sighting, ongoing, but stale: every scan after hour 2 failed (and hour 1).
HISTORY: tuple[Scan, ...] = (
    ok(0, "pub", active(DST_X)),
    ok(1, "pub", active(DST_X), active(DST_Y)),
    ok(2, "pub", stopped(DST_X), active(DST_Y)),
    failed(3, "pub"),
    ok(4, "pub", active(DST_X, session="dst-session-2")),
    ok(5, "pub", active(DST_X, session="dst-session-2")),
    ok(6, "pub", active(DST_X, session="dst-session-2")),
    ok(0, "other", active(DST_X), stage=SRC_B),
    failed(1, "other", stage=SRC_B),
    ok(2, "other", active(DST_X), stage=SRC_B),
    *(failed(hour, "other", stage=SRC_B) for hour in (3, 4, 5, 6)),
)
EVENTS = (
    ("REPLICATION_STARTED", 3.5, DST_X, "dst-session-2"),
    ("REPLICATION_STOPPED", 2.5, DST_Y, "dst-session"),
)
# What the page must draw: 4 periods on 3 rows; marks: 2 exact times, 2 first sightings,
# 2 ongoing, and each failed scan on every row of its participant (pub: 1 on 2 rows, other: 5
# on 1 row).
DRAWN = {"period": 4, "certain": 4, "unseen": 2, "mark": 2 + 2 + 2 + 2 + 5}
SUMMARY = (
    "4 replication periods in 3 rows: 2 ongoing (1 stale), 2 first sightings, "
    "2 exact event times, 7 failed-scan marks"
)

# Headless, with nothing reaching the network: every host name fails to resolve.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """The hand-written history, with its replication events, in a DuckDB file."""
    path = tmp_path / "history.duckdb"
    with history_database(HISTORY, path=str(path)) as connection:
        for number, (name, hours, destination, session) in enumerate(EVENTS):
            connection.execute(
                f"insert into {DEFAULT_DATASET}.participant_events (event_key, stage_arn, "
                "session_id, participant_id, event_name, event_at, destination_stage_arn, "
                "destination_session_id, is_replica, run_id) "
                "values (?, ?, 'src-session', 'pub', ?, ?, ?, ?, false, 'run-events')",
                [
                    f"event-{number}",
                    SRC_A,
                    name,
                    at(0) + timedelta(hours=hours),
                    destination,
                    session,
                ],
            )
    return path


def timeline(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`ivs-replicas timeline ARGS` in-process: exit code, stdout, stderr."""
    code = cli.main(["timeline", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def chromium() -> str:
    """Debian's Chromium; CI installs it (.ci/run), elsewhere the test is skipped without it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class BodyAttributes(HTMLParser):
    """The attributes of <body> in a dumped DOM (script text is not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attributes = dict(attrs)


def open_page(html: Path, tmp_path: Path) -> tuple[dict[str, str | None], list[str]]:
    """Load the page in headless Chromium: <body>'s attributes once it ran, and console lines."""
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=30000",
            "--dump-dom",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    parser = BodyAttributes()
    parser.feed(result.stdout)
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return parser.attributes, console


def drawn(attributes: dict[str, str | None]) -> dict[str, int]:
    """The counts of drawn items the page wrote, per layer."""
    return {name: int(attributes.get(f"data-{name}") or -1) for name in DRAWN}


@pytest.mark.slow
def test_page_draws_every_period_offline_with_no_console_message(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "timeline.html"
    code, out, err = timeline(capsys, "--db", str(history), "--out", str(html))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"wrote {html}", SUMMARY]

    attributes, console = open_page(html, tmp_path)

    assert console == []
    assert attributes.get("data-status") == "drawn"
    assert drawn(attributes) == DRAWN


def test_page_shows_and_reports_a_chart_it_cannot_draw(tmp_path: Path) -> None:
    html = tmp_path / "broken.html"
    page.write_html({"signals": [{"name": "broken", "update": "no_such_function()"}]}, "x", html)

    attributes, console = open_page(html, tmp_path)

    assert attributes.get("data-status") == "failed"
    assert any("no_such_function" in line for line in console)


def test_page_loads_nothing_from_outside_the_file(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "timeline.html"
    assert timeline(capsys, "--db", str(history), "--out", str(html))[0] == 0
    text = html.read_text(encoding="utf-8")
    assert "<script src" not in text
    assert "<link" not in text


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    position, chunks = 8, {}
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        chunks[kind] = chunks.get(kind, b"") + png[position + 8 : position + 8 + length]
        position += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_png_is_a_picture_of_the_rows(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "timeline.png"
    code, out, _ = timeline(capsys, "--db", str(history), "--png", str(picture))

    assert code == 0
    assert out.splitlines() == [f"wrote {picture}", SUMMARY]
    width, height, pixels = png_pixels(picture.read_bytes())
    assert width >= 1000
    assert height >= 3 * 18 * 2
    # not one flat colour: the bars, marks and text make many different bytes
    assert len(set(pixels)) > 64


@pytest.mark.parametrize(
    ("options", "summary"),
    [
        (
            ["--participant", "other"],
            "1 replication periods in 1 rows: 1 ongoing (1 stale), 1 first sightings, "
            "0 exact event times, 5 failed-scan marks",
        ),
        (
            ["--stage", "dst-y"],
            "1 replication periods in 1 rows: 0 ongoing (0 stale), 0 first sightings, "
            "1 exact event times, 1 failed-scan marks",
        ),
        (
            ["--stage", SRC_B],
            "1 replication periods in 1 rows: 1 ongoing (1 stale), 1 first sightings, "
            "0 exact event times, 5 failed-scan marks",
        ),
        (
            ["--until", at(1).isoformat()],
            "3 replication periods in 3 rows: 1 ongoing (0 stale), 2 first sightings, "
            "0 exact event times, 1 failed-scan marks",
        ),
        (
            ["--since", at(3).isoformat()],
            "2 replication periods in 2 rows: 2 ongoing (1 stale), 0 first sightings, "
            "1 exact event times, 5 failed-scan marks",
        ),
    ],
    ids=["participant", "destination-stage-id", "source-stage-arn", "until", "since"],
)
def test_options_choose_the_periods(
    history: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    summary: str,
) -> None:
    html = tmp_path / "timeline.html"
    code, out, _ = timeline(capsys, "--db", str(history), "--out", str(html), *options)
    assert code == 0
    assert out.splitlines()[-1] == summary


def test_without_an_output_it_says_what_to_give(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = timeline(capsys, "--db", str(history))
    assert code == 2
    assert "--out FILE.html, --png FILE.png" in err


def test_without_the_plotting_libraries_it_says_how_to_install_them(
    history: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "altair", None)
    html = tmp_path / "timeline.html"
    code, _, err = timeline(capsys, "--db", str(history), "--out", str(html))
    assert code == 2
    assert "pip install 'ivs-replicas[timeline]'" in err
    assert not html.exists()


def test_help_imports_no_plotting_library() -> None:
    probe = (
        "import sys\n"
        "from ivs_replicas import cli\n"
        "try:\n"
        "    cli.main(['timeline', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('altair', 'vl_convert', 'duckdb', 'pandas') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines()[-1] == "[]"


def test_a_database_without_the_views_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    code, _, err = timeline(capsys, "--db", str(empty), "--out", str(tmp_path / "t.html"))
    assert code == 2
    assert "ivs-replicas run" in err
