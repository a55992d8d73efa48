"""One scheduled run: lock, resume interrupted work, extract, load, apply views, summarise."""

from __future__ import annotations

import inspect
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

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
    FatalRunError,
    IvsReplicasError,
)
from ivs_replicas.locking import exclusive_lock
from ivs_replicas.settings import DEFAULT_DATASET, PIPELINE_NAME
from ivs_replicas.sources.ivs_realtime import ivs_realtime
from ivs_replicas.sources.ivs_realtime.config import check_known_keys, wrong_type
from ivs_replicas.sources.ivs_realtime.tally import RunTally

LOADER_FILE_FORMAT: Final = "parquet"
# Views read only rows of completed load packages (_dlt_loads), so an interrupted load stays hidden.
dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
# Loaded packages keep no copy of the data: the database holds it.
dlt.config["load.delete_completed_jobs"] = True
# DuckDB's default memory limit is 80% of RAM; a bounded one keeps a run's peak memory flat.
dlt.config["destination.duckdb.credentials.global_config"] = {"memory_limit": "256MB"}


@dataclass
class RunSummary:
    """What one run did, for the one-screen summary and the exit code."""

    database: Path
    dataset: str
    tally: RunTally
    elapsed_seconds: float
    resumed_packages: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every participant was scanned, 3 when some failed."""
        return EXIT_PARTIAL if self.tally.participants_failed else EXIT_OK

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        tally, calls = self.tally, self.tally.calls
        status = "ok" if self.exit_code == EXIT_OK else "finished with failed participants"
        duplicates = (
            f" ({tally.duplicates_dropped} repeated across pages, stored once)"
            if tally.duplicates_dropped
            else ""
        )
        lines = [
            f"run {tally.run_id}: {status}",
            f"  participants  {tally.participants_ok} ok, {tally.participants_failed} failed"
            + (f" ({tally.discovered} found by discovery)" if tally.discovered else ""),
            f"  replicas      {tally.replicas} in {tally.pages} pages{duplicates}",
            f"  api calls     {sum(calls.calls.values())} "
            f"({calls.retries} retries, {sum(calls.throttled.values())} throttled, "
            f"{tally.rescans} participant rescans)",
            *(f"    {operation:<26}{count:>8}" for operation, count in sorted(calls.calls.items())),
            f"  quota waits   {calls.quota_wait_seconds:.1f}s",
            f"  elapsed       {self.elapsed_seconds:.1f}s",
            f"  loaded into   {self.database} (dataset {self.dataset}), "
            f"{len(self.views)} views applied",
        ]
        if self.resumed_packages:
            lines.append(
                f"  resumed       {len(self.resumed_packages)} interrupted load package(s)"
            )
        lines.extend(
            f"  failed        {count} x {code}" for code, count in sorted(tally.failures.items())
        )
        return lines


def pipelines_dir_for(database: Path) -> Path:
    """Where dlt keeps this database's pipeline state and load packages."""
    return database.parent / f"{database.name}.dlt"


def make_pipeline(database: Path, dataset: str) -> dlt.Pipeline:
    """The dlt pipeline that loads into one DuckDB file."""
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name=dataset,
        pipelines_dir=str(pipelines_dir_for(database)),
    )


def run(
    database: Path,
    dataset: str = DEFAULT_DATASET,
    participants_file: str | None = None,
    **source_options: Any,
) -> RunSummary:
    """Scan every participant once and load the snapshot; the caller maps the summary to an exit."""
    started = time.monotonic()
    database = database.resolve()
    source = build_source(participants_file, source_options)
    tally: RunTally = source.resources["participant_scans"].tally
    with exclusive_lock(pipelines_dir_for(database) / "run.lock", f"a run on {database.name}"):
        pipeline = make_pipeline(database, dataset)
        resumed = resume_pending(pipeline)
        load(pipeline, source)
        check_not_fatal(tally)
        views = apply_views(database, dataset)
    return RunSummary(database, dataset, tally, time.monotonic() - started, resumed, views)


def build_source(participants_file: str | None, options: dict[str, Any]) -> Any:
    """The configured source, with config problems turned into errors a user can act on."""
    if participants_file:
        options["participants_file"] = participants_file
    known = inspect.signature(ivs_realtime).parameters
    for provider in (dlt.config, dlt.secrets):
        check_known_keys(provider.get("sources.ivs_realtime", dict), known)
    try:
        return ivs_realtime(**options)
    except ConfigValueCannotBeCoercedException as error:
        raise wrong_type(error.field_name, error.field_value, error.hint) from None
    except ConfigFieldMissingException as error:
        if "credentials" in str(error):
            raise FatalRunError(
                "no AWS credentials found: set them in .dlt/secrets.toml "
                "([sources.ivs_realtime.credentials]), the environment, or an AWS profile"
            ) from None
        raise
    except Exception as error:
        raise unwrap(error) from error


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
        pipeline.load()
    except PipelineStepFailed as error:
        raise unwrap(error) from error
    return pending


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
    """Extract, normalize and load one run's packages."""
    try:
        pipeline.run(source, loader_file_format=LOADER_FILE_FORMAT)
    except PipelineStepFailed as error:
        raise unwrap(error) from error


def check_not_fatal(tally: RunTally) -> None:
    """Fail the run when every participant was refused access."""
    denied = tally.failures.get("AccessDeniedException", 0)
    if tally.participants and tally.participants_ok == 0 and denied == tally.participants:
        raise FatalRunError(
            f"access denied for all {denied} participants: check the IAM policy allows "
            "ivs:ListParticipantReplicas (the failures are recorded in participant_scans)"
        )


def apply_views(database: Path, dataset: str) -> list[str]:
    """Create or replace the history views in the dataset schema."""
    from ivs_replicas import warehouse

    with duckdb.connect(str(database)) as connection:
        return warehouse.apply_views(connection, dataset)


def unwrap(error: BaseException) -> BaseException:
    """The project's own error inside dlt's wrappers, when there is one."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, IvsReplicasError):
            return current
        current = current.__cause__ or current.__context__
    return error
