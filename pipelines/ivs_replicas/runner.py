"""One scheduled run: lock, resume, extract, load, apply views, publish to analysts, summarise."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.pipeline.exceptions import PipelineStepFailed

from ivs_replicas.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    BadInputError,
    FatalRunError,
    IvsReplicasError,
)
from ivs_replicas.failures import causes
from ivs_replicas.locking import exclusive_lock
from ivs_replicas.pipeline import drop_loaded_files, make_pipeline
from ivs_replicas.privacy import private_run
from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.sources.ivs_realtime import ivs_realtime
from ivs_replicas.sources.ivs_realtime.config import wrong_type
from ivs_replicas.sources.ivs_realtime.discovery import DiscoveryCall
from ivs_replicas.sources.ivs_realtime.exceptions import InvalidSourceInput, IvsRealtimeError
from ivs_replicas.sources.ivs_realtime.settings import REPLICA_KEY, REPLICAS_TABLE, SCANS_TABLE
from ivs_replicas.sources.ivs_realtime.tally import RunTally
from ivs_replicas.storage import DuckDbFile, Published, Storage, check_dataset_name


@dataclass
class RunSummary:
    """What one run did, for the one-screen summary, `run --json` and the exit code."""

    database: str
    dataset: str
    tally: RunTally
    elapsed_seconds: float
    resumed_packages: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    published: Published | None = None

    @property
    def exit_code(self) -> int:
        """0 when every participant was scanned and every discovery listing read, 3 if not."""
        tally = self.tally
        return EXIT_PARTIAL if tally.participants_failed or tally.discovery_failures else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain data: what `run --json` prints and `lines()` formats."""
        tally, calls, published = self.tally, self.tally.calls, self.published
        return {
            "run_id": tally.run_id,
            "status": "ok" if self.exit_code == EXIT_OK else "partial",
            "exit_code": self.exit_code,
            "participants_ok": tally.participants_ok,
            "participants_failed": tally.participants_failed,
            "participants_discovered": tally.discovered,
            "replicas": tally.replicas,
            "pages": tally.pages,
            "duplicates_dropped": tally.duplicates_dropped,
            "api_calls": sum(calls.calls.values()),
            "calls": dict(sorted(calls.calls.items())),
            "retries": calls.retries,
            "throttled": sum(calls.throttled.values()),
            "page_retries": tally.page_retries,
            "rescans": tally.rescans,
            "failures": dict(sorted(tally.failures.items())),
            "discovery_failures": [
                {"operation": call.operation, "target": call.target, "error_code": call.error_code}
                for call in tally.discovery_failures
            ],
            "quota_wait_seconds": round(calls.quota_wait_wall_seconds, 3),
            "quota_wait_worker_seconds": round(calls.quota_wait_seconds, 3),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "database": self.database,
            "dataset": self.dataset,
            "views_applied": len(self.views),
            "published_bytes": published.bytes if published else None,
            "published_seconds": round(published.seconds, 3) if published else None,
            "resumed_packages": list(self.resumed_packages),
            "unknown_fields": sorted(tally.unknown_fields),
        }

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        data = self.to_dict()
        failed = [
            *(["failed participants"] if data["participants_failed"] else []),
            *(["failed discovery listings"] if self.tally.discovery_failures else []),
        ]
        status = f"finished with {' and '.join(failed)}" if failed else "ok"
        duplicates = (
            f" ({data['duplicates_dropped']} repeated across pages, stored once)"
            if data["duplicates_dropped"]
            else ""
        )
        discovered = data["participants_discovered"]
        lines = [
            f"run {data['run_id']}: {status}",
            f"  participants  {data['participants_ok']} ok, {data['participants_failed']} failed"
            + (f" ({discovered} found by discovery)" if discovered else ""),
            f"  replicas      {data['replicas']} in {data['pages']} pages{duplicates}",
            f"  api calls     {data['api_calls']} "
            f"({data['retries']} retries, {data['throttled']} throttled, "
            f"{data['page_retries']} page retries, "
            f"{data['rescans']} participant rescans)",
            *(f"    {operation:<26}{count:>8}" for operation, count in data["calls"].items()),
            f"  quota waits   {data['quota_wait_seconds']:.1f}s wall-clock "
            f"({data['quota_wait_worker_seconds']:.1f}s summed over workers)",
            f"  elapsed       {data['elapsed_seconds']:.1f}s",
            f"  loaded into   {data['database']} (dataset {data['dataset']}), "
            f"{data['views_applied']} views applied",
        ]
        if data["published_bytes"] is not None:
            lines.append(
                f"  published     {data['published_bytes'] / 1e6:,.1f} MB for analysts "
                f"in {data['published_seconds']:.1f}s"
            )
        if data["resumed_packages"]:
            lines.append(
                f"  resumed       {len(data['resumed_packages'])} interrupted load package(s)"
            )
        if data["unknown_fields"]:
            lines.append(
                f"  unknown fields {', '.join(data['unknown_fields'])} (sent by the API, "
                "not in the service model; kept in participant_replicas.unknown_fields)"
            )
        lines.extend(
            f"  failed        {count} x {code}" for code, count in data["failures"].items()
        )
        lines.extend(discovery_lines(self.tally.discovery_failures))
        return lines


MAX_NAMED_LISTINGS = 10
"""Failed discovery listings the summary names one by one; discovery_scans holds them all."""


def discovery_lines(failures: list[DiscoveryCall]) -> list[str]:
    """Summary lines naming each failed discovery listing: operation, stage and error code."""
    if not failures:
        return []
    named = [
        f"    {call.operation:<18} {call.target}: {call.error_code}"
        for call in failures[:MAX_NAMED_LISTINGS]
    ]
    more = len(failures) - len(named)
    return [
        f"  discovery     {len(failures)} listing(s) failed; the next run lists their stages "
        "again (see discovery_scans)",
        *named,
        *([f"    ... and {more} more"] if more else []),
    ]


def run(
    storage: Storage | Path,
    dataset: str = DEFAULT_DATASET,
    participants_file: str | None = None,
    tally: RunTally | None = None,
    **settings: Any,
) -> RunSummary:
    """Scan every participant once and load the snapshot; the caller maps the summary to an exit.

    A path as `storage` means one DuckDB file for analysts. `settings` are the source's
    (`page_size=25`, ...); they win over config files and env. Pass a `tally` to watch the
    run count as it goes (as `ivs_replicas.progress` does); a new one otherwise.
    """
    started = time.monotonic()
    storage = DuckDbFile(storage.resolve()) if isinstance(storage, Path) else storage
    dataset = check_dataset_name(dataset, storage)
    tally = RunTally() if tally is None else tally
    source = build_source(tally, participants_file, settings)
    with exclusive_lock(storage.lock_path, f"a run into {storage.describe()}"):
        storage.prepare()  # under the lock: it clears what an earlier publication left
        with private_run(storage.lock_path.parent):
            check_clock(storage, dataset)
            pipeline = make_pipeline(storage.destination(), dataset, storage.pipelines_dir(dataset))
            resumed = storage.write(lambda: resume_pending(pipeline))
            storage.write(lambda: drop_rows_loaded_twice(storage, dataset, resumed))
            storage.write(lambda: load(pipeline, source))
        views = storage.write(lambda: apply_views(storage, dataset))
        published = storage.publish()
    check_not_fatal(tally)  # after publishing: the ledger shows analysts what failed
    return RunSummary(
        storage.describe(), dataset, tally, time.monotonic() - started, resumed, views, published
    )


def build_source(tally: RunTally, participants_file: str | None, settings: dict[str, Any]) -> Any:
    """The configured source counting into `tally`, its config problems made errors to act on."""
    if participants_file:
        settings["participants_file"] = participants_file
    try:
        return ivs_realtime(tally=tally, **settings)
    except ConfigValueCannotBeCoercedException as error:
        raise exit_error(wrong_type(error)) from None
    except ConfigFieldMissingException as error:
        if "credentials" in str(error):
            raise FatalRunError(
                "no AWS credentials found: set them in .dlt/secrets.toml "
                "([sources.ivs_realtime.credentials]), the environment, or an AWS profile"
            ) from None
        raise
    except Exception as error:
        raise exit_error(error) from error


def resume_pending(pipeline: dlt.Pipeline) -> list[str]:
    """Finish load packages that an interrupted run left behind; return their load ids."""
    settle_interrupted_normalize(Path(pipeline.working_dir))
    if not pipeline.has_pending_data:
        return []
    pending = list(pipeline.list_normalized_load_packages()) + list(
        pipeline.list_extracted_load_packages()
    )
    try:
        pipeline.normalize()
        drop_loaded_files(pipeline, pipeline.load())
    except PipelineStepFailed as error:
        raise exit_error(error) from error
    return pending


# What identifies a row within one load package, per appended table. A kill in the load step
# can leave a job whose rows were committed but not marked done; dlt then loads it again.
ROW_KEYS = {
    REPLICAS_TABLE: ("run_id", *REPLICA_KEY),
    SCANS_TABLE: ("run_id", "source_stage_arn", "participant_id"),
}


def drop_rows_loaded_twice(storage: Storage, dataset: str, load_ids: list[str]) -> None:
    """Keep one copy of each row of the resumed packages."""
    if not load_ids:
        return
    with storage.connect() as connection:
        for table, key in ROW_KEYS.items():
            relation = f'"{dataset}"."{table}"'
            connection.execute(
                f"""
                delete from {relation}
                where _dlt_load_id in (select unnest($load_ids))
                    and rowid not in (
                        select min(rowid) from {relation}
                        where _dlt_load_id in (select unnest($load_ids))
                        group by {", ".join(key)}
                    )
                """,
                {"load_ids": load_ids},
            )


def settle_interrupted_normalize(working_dir: Path) -> None:
    """Drop the extracted copy of a package whose normalized copy was already committed.

    dlt normalizes into load/new, renames that to load/normalized, then deletes the extracted
    package. A kill between the rename and the delete leaves both; the normalized one is whole.
    """
    load_dir = working_dir / "load"
    for extracted in (working_dir / "normalize" / "extracted").glob("*"):
        committed = any(
            (load_dir / stage / extracted.name).is_dir() for stage in ("normalized", "loaded")
        )
        if committed:
            shutil.rmtree(extracted)
            shutil.rmtree(load_dir / "new" / extracted.name, ignore_errors=True)


def load(pipeline: dlt.Pipeline, source: Any) -> None:
    """Extract, normalize and load one run's packages; the database keeps the only copy."""
    try:
        info = pipeline.run(source)
    except PipelineStepFailed as error:
        raise exit_error(error) from error
    drop_loaded_files(pipeline, info)


def check_clock(storage: Storage, dataset: str) -> None:
    """Stop before any call when this machine's clock is behind the latest stored scan.

    History orders scans by `scanned_at`; a scan stamped before an earlier one would corrupt it.
    """
    with storage.connect() as connection:
        try:
            row = connection.execute(
                f'select max(scanned_at) from "{dataset}".participant_scans'
            ).fetchone()
        except duckdb.CatalogException:
            return
    latest, now = (row[0] if row else None), datetime.now(UTC)
    if latest is not None and latest > now:
        raise FatalRunError(
            f"this machine's clock ({now:%Y-%m-%d %H:%M:%S} UTC) is behind the latest stored "
            f"scan ({latest.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC): correct the clock (NTP) "
            "and run again; nothing was called or written"
        )


def check_not_fatal(tally: RunTally) -> None:
    """Fail the run when every participant was refused access, or none reached the endpoint."""
    denied = tally.failures.get("AccessDeniedException", 0)
    if tally.participants and tally.participants_ok == 0 and denied == tally.participants:
        raise FatalRunError(
            f"access denied for all {denied} participants: check the IAM policy allows "
            "ivs:ListParticipantReplicas (the failures are recorded in participant_scans)"
        )
    if tally.unreachable:
        codes = ", ".join(f"{count} x {code}" for code, count in sorted(tally.failures.items()))
        raise FatalRunError(
            f"the endpoint could not be reached for any of the {tally.participants} "
            f"participants ({codes}): check endpoint_url, the network and any proxy "
            "(the failures are recorded in participant_scans)"
        )


def apply_views(storage: Storage, dataset: str) -> list[str]:
    """Create or replace the history views, and take the new loads into the derived tables."""
    from ivs_replicas import warehouse

    with storage.connect() as connection:
        views = warehouse.apply_views(connection, dataset)
        warehouse.maintain(connection, dataset)
        return views


def exit_error(error: BaseException) -> BaseException:
    """The error with an exit code that `error` stands for, looking inside dlt's wrappers.

    The source's own errors become the command line's: bad input exits 2, the rest 1.
    """
    for cause in causes(error):
        if isinstance(cause, IvsReplicasError):
            return cause
        if isinstance(cause, InvalidSourceInput):
            return BadInputError(cause.message, cause.problems)
        if isinstance(cause, IvsRealtimeError):
            return FatalRunError(str(cause))
    return error
