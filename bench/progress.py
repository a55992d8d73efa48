"""(g) Progress: how soon a run on a terminal shows its first bar.

`ivs-replicas run` on 600 participants in two regions at 10 requests per second, its stderr a
pseudo-terminal: the seconds from starting the command to the first bar naming a region,
against the whole run's seconds.

Run alone with `.venv/bin/python bench/progress.py`, or as section g of `bench/run.py`.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from harness import Figure, median, offline_environment, print_table, scratch_dir, spread
from ivs_realtime_emulator import Emulator
from ivs_realtime_emulator.generate import generate_scenario

SCRIPT = str(Path(sys.executable).with_name("ivs-replicas"))
REQUESTS_PER_SECOND = "10"
FIRST_BAR = b"us-east-1"


def read_until_exit(master: int, process: subprocess.Popen[bytes], started: float) -> float | None:
    """Read the terminal until the run ends; the seconds at which the first bar appeared."""
    drawn, first = b"", None
    while True:
        if select.select([master], [], [], 0.05)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the run closed the terminal
                chunk = b""
            drawn += chunk
            if first is None and FIRST_BAR in drawn:
                first = time.monotonic() - started
            if chunk:
                continue
        if process.poll() is not None:
            return first


def one_run(participants: int) -> tuple[float, float]:
    """Seconds to the first bar and seconds of the whole run, for one run in a fresh folder."""
    scenario = generate_scenario(
        participants=participants,
        replicas_per_participant=[1, 2],
        regions=("us-east-1", "eu-west-1"),
    )
    with Emulator(scenario) as emulator, scratch_dir("progress") as folder:
        rows = [
            f"{p['source_stage_arn']},{p['participant_id']}" for p in scenario.participant_refs()
        ]
        (folder / "participants.csv").write_text(
            "source_stage_arn,participant_id\n" + "\n".join(rows) + "\n", encoding="utf-8"
        )
        environ = {
            **os.environ,
            "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
            "SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND": REQUESTS_PER_SECOND,
            "TERM": "xterm-256color",
        }
        master, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
        command = [SCRIPT, "run", "--participants", "participants.csv", "--db", "r.duckdb"]
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=folder, env=environ, stdout=subprocess.DEVNULL, stderr=terminal
        )
        os.close(terminal)
        try:
            first = read_until_exit(master, process, started)
        finally:
            os.close(master)
        if process.wait() != 0 or first is None:
            raise RuntimeError(f"the run exited {process.returncode} after {first} s of bars")
        return first, time.monotonic() - started


def run(quick: bool) -> list[Figure]:
    """Median seconds to the first bar, over three runs (one with --quick)."""
    offline_environment()
    participants = 60 if quick else 600
    samples = [one_run(participants) for _ in range(1 if quick else 3)]
    firsts = [first for first, _ in samples]
    wholes = [whole for _, whole in samples]
    print_table(
        f"(g) progress: {participants} participants, 2 regions, {REQUESTS_PER_SECOND} rps",
        ["measure", "median s", "spread"],
        [
            ["first bar on the terminal", f"{median(firsts):.2f}", spread(firsts)],
            ["whole run", f"{median(wholes):.1f}", spread(wholes)],
        ],
    )
    return [
        Figure(
            f"(g) first progress bar, {participants} participants",
            f"{median(firsts):.2f} s of a {median(wholes):.0f} s run",
            "< 2 s",
            median(firsts) < 2,
        )
    ]


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(f"{figure.name}: {figure.value}")
