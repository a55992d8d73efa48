"""Benchmarks of ivs-replicas: overhead, quota-bound, scale, history, start-up and progress.

Usage: .venv/bin/python bench/run.py [--quick] [--only a,b,c,d,e,g]
(f, storage, runs alone: .venv/bin/python bench/storage.py)
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from collections.abc import Callable

from harness import Figure, machine_lines, offline_environment, print_table

offline_environment()

# Section letter -> module in bench/ with a `run(quick) -> list[Figure]`.
SECTIONS = {
    "a": "overhead",
    "b": "quota",
    "c": "scale",
    "d": "history",
    "e": "startup",
    "g": "progress",
}


def section_runner(name: str) -> Callable[[bool], list[Figure]]:
    """The `run(quick)` function of one benchmark section, imported when needed."""
    return importlib.import_module(SECTIONS[name]).run  # type: ignore[no-any-return]


def run_section(name: str, quick: bool) -> list[Figure]:
    """The figures of one section; a failure is reported and the other sections still run."""
    try:
        return section_runner(name)(quick)
    except Exception as error:  # one broken section must not hide the others
        traceback.print_exc()
        message = str(error).splitlines()[0][:60] if str(error) else ""
        return [Figure(f"({name}) section failed", f"{type(error).__name__}: {message}", met=False)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster variant")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections to run, e.g. a,c")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print the summary table."""
    args = parse_args(argv)
    started = time.monotonic()
    print("machine\n  " + "\n  ".join(machine_lines()), flush=True)
    print(f"mode          {'quick' if args.quick else 'full'}; sections {','.join(args.only)}\n")
    figures: list[Figure] = []
    for name in args.only:
        figures.extend(run_section(name, args.quick))
        print(flush=True)
    print_table(
        "summary",
        ["figure", "value", "target", "met"],
        [[figure.name, figure.value, figure.target, figure.verdict] for figure in figures],
    )
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nbenchmarks took {time.monotonic() - started:.0f}s; load average at the end {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
