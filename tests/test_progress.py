"""Progress while a run scans: live bars on a terminal, lines on a pipe, nothing with --quiet.

The command line is run as a user runs it, in a subprocess: with stderr on a pseudo-terminal
for the bars, on a pipe for the lines. Assertions are on what is shown while the run still
goes, never on how fast.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, generate_scenario
from ivs_replicas.progress import ProgressLines, read, seconds_left, shown
from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.scan import ScanResult
from ivs_replicas.sources.ivs_realtime.tally import QuotaTally, RunTally

StartFn = Callable[..., Emulator]
SCRIPT = str(Path(sys.executable).with_name("ivs-replicas"))
EAST = "arn:aws:ivs:us-east-1:111111111111:stage/AbCdEf123456"
WEST = "arn:aws:ivs:eu-west-1:222222222222:stage/AbCdEf123456"
# Many participants at a low quota: a run that lasts a few seconds per region.
PARTICIPANTS = 48
QUOTA = "6"


def scanned(participant: Participant, replicas: int = 0, failed: bool = False) -> ScanResult:
    """A finished scan of a participant."""
    moment = datetime.now(UTC)
    result = ScanResult(participant, "run", moment, moment, pages=1)
    if failed:
        result.status, result.error_code = "failed", "ThrottlingException"
    else:
        result.rows = [object()] * replicas  # type: ignore[list-item]
    return result


def test_tally_counts_each_account_and_region_apart() -> None:
    """Planned, scanned, failed and replicas per (account, region), read as a copy."""
    tally = RunTally()
    east = [Participant(EAST, f"e{n}") for n in range(3)]
    west = [Participant(WEST, "w0")]
    tally.plan(east + west)
    tally.add(scanned(east[0], replicas=2))
    tally.add(scanned(east[1], failed=True))
    progress = tally.progress()
    assert progress == {
        ("111111111111", "us-east-1"): QuotaTally(participants=3, scanned=2, failed=1, replicas=2),
        ("222222222222", "eu-west-1"): QuotaTally(participants=1),
    }
    progress["222222222222", "eu-west-1"].scanned = 9
    assert tally.progress()["222222222222", "eu-west-1"].scanned == 0


def test_line_says_what_is_scanned_and_the_time_left_of_the_slowest_region() -> None:
    tally = RunTally()
    east = [Participant(EAST, f"e{n}") for n in range(10)]
    tally.plan([*east, Participant(WEST, "w0"), Participant(WEST, "w1")])
    for participant in east[:2]:
        tally.add(scanned(participant, replicas=3))
    tally.add(scanned(Participant(WEST, "w0")))
    tally.calls.add_throttled("ListParticipantReplicas", "111111111111", "us-east-1")
    display = ProgressLines(tally, io.StringIO())
    display.scanning_since = 0.0
    reading = read(tally, display.started - 20)
    line = display.line(reading)
    assert line.startswith("progress 0:20 scanned 3/12 participants, 0 failed, 6 replicas, ")
    # us-east-1 scanned 2 of 10 in 20 s: 80 s to go; eu-west-1 1 of 2: 20 s.
    assert line.endswith("1 throttled, about 1:20 left")


def test_line_before_participants_are_known_and_after_they_are_all_scanned() -> None:
    tally = RunTally()
    display = ProgressLines(tally, io.StringIO())
    assert display.line(display.reading()).endswith(" starting")
    tally.calls.count(tally.calls.calls, "ListStages")
    assert display.line(display.reading()).endswith("finding participants (1 API call so far)")
    tally.plan([Participant(EAST, "e0")])
    tally.add(scanned(Participant(EAST, "e0")))
    assert display.line(display.reading()).endswith("; loading")


def test_seconds_left_waits_for_a_first_scan() -> None:
    assert seconds_left(QuotaTally(participants=5), 3.0) is None
    assert seconds_left(QuotaTally(participants=5, scanned=1), 3.0) == 12.0


def test_lines_go_to_the_stream_at_the_interval_until_the_block_ends() -> None:
    """Off a terminal: a line per interval while the block runs, none after."""
    tally, stream = RunTally(), io.StringIO()
    with shown(tally, stream, interval=0.01):
        while stream.getvalue().count("\n") < 2:
            time.sleep(0.01)
    printed = stream.getvalue()
    time.sleep(0.05)
    assert stream.getvalue() == printed
    assert printed.splitlines()[0].startswith("progress 0:00 ")


StartRun = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def paced_run(start_emulator: StartFn, tmp_path: Path) -> StartRun:
    """Start the command line on many participants in two regions at a low quota."""
    scenario = generate_scenario(
        participants=PARTICIPANTS,
        replicas_per_participant=[1, 2],
        regions=("us-east-1", "eu-west-1"),
    )
    emulator = start_emulator(scenario)
    rows = [f"{p['source_stage_arn']},{p['participant_id']}" for p in scenario.participant_refs()]
    (tmp_path / "participants.csv").write_text(
        "source_stage_arn,participant_id\n" + "\n".join(rows) + "\n"
    )
    environ = {
        **os.environ,
        "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
        "SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND": QUOTA,
        "TERM": "xterm-256color",
    }
    command = [SCRIPT, "run", "--participants", "participants.csv", "--db", "r.duckdb"]

    def start(*flags: str, stderr: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*command, *flags], cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=stderr
        )

    return start


@pytest.mark.slow
def test_pipe_gets_a_progress_line_while_the_run_goes(
    paced_run: StartRun,
) -> None:
    process = paced_run("--progress-interval", "0.5", stderr=subprocess.PIPE)
    assert process.stderr is not None
    while True:
        line = process.stderr.readline().decode()
        assert line, "the run ended before a progress line said how far its scans were"
        if " scanned " in line:
            break
    assert process.poll() is None, "the progress line came only after the run"
    assert f"/{PARTICIPANTS} participants, " in line
    out, rest = process.communicate(timeout=120)
    assert process.returncode == 0, rest
    assert f"{PARTICIPANTS} ok, 0 failed" in out.decode()


def read_terminal(master: int, until: Callable[[bytes], bool], timeout: float = 120) -> bytes:
    """What the run drew on the terminal, read until `until` holds or the terminal closes."""
    drawn = b""
    deadline = time.monotonic() + timeout
    while not until(drawn) and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    return drawn


@pytest.mark.slow
def test_terminal_gets_a_live_bar_per_account_and_region(
    paced_run: StartRun, tmp_path: Path
) -> None:
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    process = paced_run(stderr=terminal)
    os.close(terminal)
    try:
        drawn = read_terminal(
            master, lambda text: b"us-east-1 123456789012" in text and b"eu-west-1" in text
        )
        assert process.poll() is None, "the bars came only after the run"
        assert b" replicas " in drawn
        assert b" throttled " in drawn
        drawn += read_terminal(master, lambda _: process.poll() is not None)
        out, _ = process.communicate(timeout=120)
    finally:
        os.close(master)
    assert process.returncode == 0
    arns = (tmp_path / "participants.csv").read_text().splitlines()[1:]
    for region in ("us-east-1", "eu-west-1"):
        count = sum(f":{region}:" in arn for arn in arns)
        assert f"{region} 123456789012 ".encode() in drawn
        assert f"{count}/{count}".encode() in drawn
    assert b"left" in drawn
    assert f"{PARTICIPANTS} ok, 0 failed" in out.decode()


@pytest.mark.slow
def test_quiet_shows_no_progress(paced_run: StartRun) -> None:
    process = paced_run("--quiet", "--progress-interval", "0.1", stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert err == b""
    assert b"0 failed" in out
