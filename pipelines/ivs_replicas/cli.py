"""The `ivs-replicas` command line: a thin shell over the library."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ivs_replicas import __version__
from ivs_replicas.errors import BadInputError, IvsReplicasError
from ivs_replicas.failures import Interrupted, explain, interruption
from ivs_replicas.settings import DEFAULT_DATABASE, DEFAULT_DATASET

if TYPE_CHECKING:
    from ivs_replicas.storage.config import StorageOptions

logger = logging.getLogger("ivs_replicas")
DEBUG_HELP = "verbose logs and tracebacks"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run one command, and return its exit code."""
    parser = build_parser()
    args, passed_on = parser.parse_known_args(argv)
    if passed_on and args.command is not cmd_emulator:
        parser.error(f"unrecognized arguments: {' '.join(passed_on)}")
    args.passed_on = passed_on
    configure_logging(args.debug)
    command: Callable[[argparse.Namespace], int] = args.command
    previous = signal.signal(signal.SIGTERM, raise_interrupted)
    try:
        return command(args)
    except BrokenPipeError:
        return quiet_broken_pipe()
    except BaseException as error:
        return fail(error, args.debug)
    finally:
        signal.signal(signal.SIGTERM, previous)


def raise_interrupted(signum: int, _frame: object) -> None:
    """Turn SIGTERM into an exception, so it unwinds like Ctrl-C and exits 143."""
    raise Interrupted(signum)


def fail(error: BaseException, debug: bool) -> int:
    """Print one line that says why (the traceback only with --debug); return the exit code."""
    if debug:
        traceback.print_exception(error)
    stopped = interruption(error)
    if stopped is not None:
        print(
            f"interrupted by {stopped}: what was loaded stays, the next run resumes",
            file=sys.stderr,
        )
        return stopped.exit_code
    if isinstance(error, SystemExit | GeneratorExit):
        raise error
    explained = explain(error)
    hint = "" if debug or isinstance(error, IvsReplicasError) else " (--debug shows more)"
    print(f"error: {explained}{hint}", file=sys.stderr)
    return explained.exit_code


def quiet_broken_pipe() -> int:
    """The reader of our output went away (`report ... | head`): stop quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def configure_logging(debug: bool) -> None:
    """Warnings by default, everything with --debug."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("botocore", "urllib3", "dlt"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.ERROR)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ivs-replicas",
        description="Snapshot Amazon IVS Real-Time participant replicas into DuckDB with dlt.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="scan every participant once and load the snapshot")
    run.add_argument(
        "--participants", metavar="FILE", help="participants file: CSV, JSON lines or a JSON array"
    )
    add_database_options(run)
    run.add_argument(
        "--work-dir",
        type=Path,
        help="this runner's private folder with a lake (default: one per lake in "
        "~/.local/state/ivs-replicas)",
    )
    run.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object on stdout"
    )
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    run.add_argument(
        "--progress-interval",
        type=positive_number,
        default=10.0,
        metavar="SECONDS",
        help="seconds between progress lines when stderr is not a terminal (default: 10)",
    )
    run.set_defaults(command=cmd_run)

    demo = commands.add_parser("demo", help="several runs against the bundled local endpoint")
    demo.add_argument("--db", default="demo/ivs_replicas.duckdb", type=Path, help="DuckDB file")
    demo.add_argument("--runs", type=int, default=None, help="runs to make (default: every epoch)")
    demo.set_defaults(command=cmd_demo)

    report = commands.add_parser("report", help="print a table or view, or the overview")
    report.add_argument("view", nargs="?", help="table or view name (default: the overview)")
    add_database_options(report)
    report.add_argument(
        "--since",
        type=parse_moment,
        help="rows from then on: ISO timestamp (UTC if no zone) or a time ago: 30m, 24h, 7d",
    )
    report.add_argument(
        "--until", type=parse_moment, help="rows before then: ISO timestamp or a time ago"
    )
    report.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="at most N rows (per section of the overview, which shows 10 in a table)",
    )
    report.add_argument("--format", choices=("table", "csv", "json", "markdown"), default="table")
    report.set_defaults(command=cmd_report)

    export = commands.add_parser("export", help="write every table and view as Parquet")
    export.add_argument("--out", required=True, type=Path, help="output directory")
    add_database_options(export)
    export.set_defaults(command=cmd_export)

    rebuild = commands.add_parser(
        "rebuild", help="recompute the derived history tables from the loaded rows"
    )
    add_database_options(rebuild)
    rebuild.set_defaults(command=cmd_rebuild)

    timeline = commands.add_parser(
        "timeline", help="draw replication episodes: an offline HTML page and/or a PNG"
    )
    timeline.add_argument("--out", type=Path, metavar="FILE.html", help="HTML page (works offline)")
    timeline.add_argument("--png", type=Path, metavar="FILE.png", help="static picture")
    add_database_options(timeline)
    timeline.add_argument(
        "--since", type=parse_moment, help="from then on: ISO timestamp or a time ago (7d)"
    )
    timeline.add_argument(
        "--until", type=parse_moment, help="up to then: ISO timestamp or a time ago (default: now)"
    )
    timeline.add_argument(
        "--participant",
        action="append",
        default=[],
        metavar="ID",
        help="only this source participant (repeat for more)",
    )
    timeline.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="ARN_OR_ID",
        help="only rows from or into this stage, by ARN or id (repeat for more)",
    )
    timeline.set_defaults(command=cmd_timeline)

    # The emulator parses its own options, so the product imports it only for this command.
    emulator = commands.add_parser(
        "emulator",
        help="serve the local IVS Real-Time endpoint (options: emulator --help)",
        add_help=False,
    )
    emulator.set_defaults(command=cmd_emulator)
    # --debug after the command's name too; when it is not there, the one before it counts.
    for command in commands.choices.values():
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP
        )
    return parser


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """--db or --lake, and --dataset: shared by the commands that touch the database."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--db", type=Path, help=f"DuckDB file (default: {DEFAULT_DATABASE}, or [storage] lake)"
    )
    where.add_argument(
        "--lake",
        metavar="CATALOG",
        help="a DuckLake instead: sqlite:PATH, or postgres:'dbname=... host=... user=...'",
    )
    parser.add_argument(
        "--lake-data", metavar="PATH", help="the lake's data folder or s3://bucket/prefix"
    )
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help="dataset (DuckDB schema)")


TIME_AGO = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(text: str) -> datetime:
    """An ISO timestamp (naive ones are UTC), or a time ago from now: 90s, 30m, 24h, 7d, 2w."""
    ago = TIME_AGO.fullmatch(text.strip())
    if ago:
        amount = timedelta(**{UNITS[ago["unit"]]: float(ago["amount"])})
        return datetime.now(UTC) - amount
    try:
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not an ISO timestamp nor a time ago (30m, 24h, 7d): {text!r}"
        ) from error
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def positive_number(text: str) -> float:
    """A number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number above 0: {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    """Run the scheduled batch job once."""
    from ivs_replicas import progress, runner
    from ivs_replicas.sources.ivs_realtime.tally import RunTally
    from ivs_replicas.storage.config import storage_for

    storage = storage_for(storage_options(args))
    tally = RunTally()
    shown = (
        contextlib.nullcontext()
        if args.quiet
        else progress.shown(tally, sys.stderr, args.progress_interval)
    )
    with shown:
        summary = runner.run(storage, args.dataset, args.participants, tally=tally)
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print("\n".join(summary.lines()))
    return summary.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo against the bundled scenario."""
    from ivs_replicas import demo

    return demo.run_demo(args.db, runs=args.runs)


def cmd_report(args: argparse.Namespace) -> int:
    """Print one view, or the overview."""
    from ivs_replicas import warehouse
    from ivs_replicas.storage.config import read_source

    source = read_source(storage_options(args))
    window = {"since": args.since, "until": args.until}
    if args.view:
        frame = warehouse.query_view(source, args.dataset, args.view, **window, limit=args.limit)
        frames = {args.view: frame}
    else:
        limit = args.limit or warehouse.overview_rows(args.format)
        frames = warehouse.overview(source, args.dataset, **window, limit=limit)
    print(warehouse.render(frames, args.format))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export every table and view as Parquet."""
    from ivs_replicas import warehouse
    from ivs_replicas.storage.config import read_source

    counts = warehouse.export_parquet(read_source(storage_options(args)), args.out, args.dataset)
    width = max(map(len, counts), default=0)
    for name, rows in counts.items():
        print(f"{name:<{width}}  {rows:>10,} rows")
    print(f"exported {len(counts)} tables and views to {args.out}")
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Recompute the derived tables from the raw rows, as a run would publish them."""
    from ivs_replicas.storage.config import storage_for
    from ivs_replicas.warehouse.derived import rebuild_store

    storage = storage_for(storage_options(args))
    rebuilt = rebuild_store(storage, args.dataset)
    print(
        f"rebuilt the derived tables of {storage.describe()} (dataset {args.dataset}): "
        f"{rebuilt.loads:,} loads, {rebuilt.scans:,} scans, "
        f"{rebuilt.recomputed_participants:,} participants in {rebuilt.seconds:.1f}s"
    )
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    """Draw the replication episodes as an HTML page and/or a PNG."""
    from ivs_replicas.storage.config import read_source
    from ivs_replicas.warehouse.timeline import Window, write_timeline

    if args.out is None and args.png is None:
        raise BadInputError("say where to draw: --out FILE.html, --png FILE.png, or both")
    window = Window(
        datetime.now(UTC), args.since, args.until, tuple(args.participant), tuple(args.stage)
    )
    source = read_source(storage_options(args))
    drawn = write_timeline(source, args.dataset, window, html=args.out, png=args.png)
    for path in (args.out, args.png):
        if path is not None:
            print(f"wrote {path}")
    print(drawn.summary())
    return 0


def storage_options(args: argparse.Namespace) -> StorageOptions:
    """The storage flags a command was given."""
    from ivs_replicas.storage.config import StorageOptions

    return StorageOptions(args.db, args.lake, args.lake_data, getattr(args, "work_dir", None))


def cmd_emulator(args: argparse.Namespace) -> int:
    """Serve the local endpoint in the foreground, with the emulator's own options."""
    from ivs_realtime_emulator.cli import main as emulator_main

    return emulator_main(args.passed_on, prog="ivs-replicas emulator")


if __name__ == "__main__":
    sys.exit(main())
