"""(e) Start-up: `ivs-replicas --help` against a bare interpreter, and what it imports.

Run alone with `.venv/bin/python bench/startup.py`, or as section e of `bench/run.py`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness import Figure, median, print_table, spread

SCRIPT = str(Path(sys.executable).with_name("ivs-replicas"))
HEAVY = ("dlt", "boto3", "botocore", "duckdb", "pyarrow", "pandas", "ivs_realtime_emulator")
IMPORTED = (
    "import sys, runpy; sys.argv = ['ivs-replicas', '--help']\n"
    "try:\n    runpy.run_module('ivs_replicas.cli', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
)


def seconds_of(command: list[str], repeats: int) -> list[float]:
    """Wall seconds of each of `repeats` runs of a command."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return samples


def heavy_imports() -> str:
    """The heavy packages `--help` imports (none is the goal)."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED], capture_output=True, text=True, check=True
    )
    return result.stderr.strip() or "none"


def run(quick: bool) -> list[Figure]:
    """Median start-up of `--help` and of `python -c pass`, and their ratio."""
    repeats = 5 if quick else 21
    ours = seconds_of([SCRIPT, "--help"], repeats)
    bare = seconds_of([sys.executable, "-c", "pass"], repeats)
    print_table(
        "(e) start-up",
        ["command", "median s", "spread"],
        [
            ["ivs-replicas --help", f"{median(ours):.3f}", spread(ours)],
            ["python -c pass (reference)", f"{median(bare):.3f}", spread(bare)],
        ],
    )
    imported = heavy_imports()
    return [
        Figure(
            "(e) ivs-replicas --help, median",
            f"{median(ours):.3f} s",
            "< 0.3 s",
            median(ours) < 0.3,
        ),
        Figure("(e) --help / bare interpreter", f"{median(ours) / median(bare):.2f}"),
        Figure("(e) heavy packages imported by --help", imported, "none", imported == "none"),
    ]


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(f"{figure.name}: {figure.value}")
