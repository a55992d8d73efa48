"""Command-line entry of the emulator: ``python -m ivs_realtime_emulator --scenario NAME|FILE``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ivs_realtime_emulator.faults import FaultsError
from ivs_realtime_emulator.scenario import ScenarioError
from ivs_realtime_emulator.scenario_file import bundled_scenarios, open_scenario
from ivs_realtime_emulator.server import serve

# Flag name, fault setting, type, help.
_FAULT_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--latency-ms", "latency_ms", float, "added latency per request, in milliseconds"),
    ("--rps", "requests_per_second", float, "quota per region and operation (HTTP 429 beyond)"),
    ("--burst", "burst", float, "quota burst size (default: the rate)"),
    ("--error-rate", "error_rate", float, "share of requests answered with HTTP 500/503"),
    ("--drop-rate", "drop_rate", float, "share of connections closed without an answer"),
    ("--slow-rate", "slow_rate", float, "share of requests answered after --slow-ms"),
    ("--slow-ms", "slow_ms", float, "delay of slow answers, in milliseconds"),
    ("--malformed-rate", "malformed_rate", float, "share of HTTP 200 answers with broken JSON"),
    ("--seed", "seed", int, "seed of the fault dice"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to a parser."""
    parser.add_argument(
        "--scenario",
        default="demo",
        help=f"a bundled scenario ({', '.join(bundled_scenarios())}; default: demo), "
        "or a JSON file: a path with a slash or ending in .json",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free)")
    for flag, _, kind, text in _FAULT_FLAGS:
        parser.add_argument(flag, type=kind, default=None, help=text)


def fault_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Return the fault settings given on the command line."""
    values = {name: getattr(args, name_of(flag)) for flag, name, _, _ in _FAULT_FLAGS}
    return {name: value for name, value in values.items() if value is not None}


def name_of(flag: str) -> str:
    """Return the argparse attribute of a flag."""
    return flag.lstrip("-").replace("-", "_")


def main(argv: Sequence[str] | None = None, prog: str = "python -m ivs_realtime_emulator") -> int:
    """Run the emulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local Amazon IVS Real-Time endpoint for a scenario.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        scenario = open_scenario(args.scenario)
        serve(scenario, args.host, args.port, fault_overrides(args))
    except (ScenarioError, FaultsError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0
