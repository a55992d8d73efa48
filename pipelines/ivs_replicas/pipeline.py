"""The dlt pipeline that loads the source, into one DuckDB file by default.

Everything it sets is scoped to the pipeline it returns: nothing here writes `dlt.config`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Final

import dlt
from dlt.common.destination import Destination
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from ivs_replicas.settings import DEFAULT_DATASET, PIPELINE_NAME

# DuckDB's default memory limit is 80% of RAM; a bounded one keeps a run's peak memory flat.
DUCKDB_MEMORY_LIMIT: Final = "256MB"


def pipelines_dir_for(database: Path) -> Path:
    """Where dlt keeps the state of a pipeline loading straight into one DuckDB file."""
    return database.parent / f"{database.name}.dlt"


def duckdb_destination(database: Path) -> Destination[Any, Any]:
    """dlt's DuckDB destination on one file, with its memory bounded."""
    credentials = DuckDbCredentials(
        str(database), global_config={"memory_limit": DUCKDB_MEMORY_LIMIT}
    )
    return dlt.destinations.duckdb(credentials)


def make_pipeline(
    destination: Path | Destination[Any, Any],
    dataset: str = DEFAULT_DATASET,
    pipelines_dir: Path | None = None,
) -> dlt.Pipeline:
    """The dlt pipeline the views expect; a path stands for one DuckDB file, state beside it."""
    if isinstance(destination, Path):
        pipelines_dir = pipelines_dir or pipelines_dir_for(destination)
        destination = duckdb_destination(destination)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=destination,
        dataset_name=dataset,
        pipelines_dir=str(pipelines_dir) if pipelines_dir else None,  # type: ignore[arg-type]
    )


def drop_loaded_files(pipeline: dlt.Pipeline, info: LoadInfo | None) -> None:
    """Delete the data files of the packages a load finished: the database holds their rows.

    What dlt's `load.delete_completed_jobs` does, for this pipeline only; a package with a
    failed job keeps its files, as there.
    """
    for load_id in info.loads_ids if info else ():
        package = pipeline.get_load_package_info(load_id)
        if package.state == "loaded" and not package.jobs.get("failed_jobs"):
            shutil.rmtree(Path(package.package_path) / "completed_jobs", ignore_errors=True)
