"""The dlt pipeline that loads the source into one DuckDB file, its state kept beside the file.

Everything it sets is scoped to the pipeline it returns: nothing here writes `dlt.config`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from ivs_replicas.settings import DEFAULT_DATASET, PIPELINE_NAME

# DuckDB's default memory limit is 80% of RAM; a bounded one keeps a run's peak memory flat.
DUCKDB_MEMORY_LIMIT: Final = "256MB"


def pipelines_dir_for(database: Path) -> Path:
    """Where dlt keeps this database's pipeline state and load packages."""
    return database.parent / f"{database.name}.dlt"


def make_pipeline(database: Path, dataset: str = DEFAULT_DATASET) -> dlt.Pipeline:
    """The dlt pipeline that loads into one DuckDB file, with its memory bounded."""
    credentials = DuckDbCredentials(
        str(database), global_config={"memory_limit": DUCKDB_MEMORY_LIMIT}
    )
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(credentials),
        dataset_name=dataset,
        pipelines_dir=str(pipelines_dir_for(database)),
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
