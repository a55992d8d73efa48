"""Load Amazon IVS Real-Time participant replicas into DuckDB with dlt, then derive the history.

Settings come from `[sources.ivs_realtime]` in .dlt/config.toml (or SOURCES__IVS_REALTIME__*),
credentials from .dlt/secrets.toml or boto3's standard chain. Run it from the folder that holds
.dlt/:

    python pipelines/ivs_realtime_pipeline.py

`dlt deploy pipelines/ivs_realtime_pipeline.py github-action --schedule "5 * * * *"` (or
`airflow-composer`) reads the pipeline's name and folder from the `dlt.pipeline(...)` call
below, so they are spelled out there: the pipeline `ivs_replicas`, its state in
`ivs_replicas.duckdb.dlt/` beside the database (`dlt pipeline --pipelines-dir
ivs_replicas.duckdb.dlt ivs_replicas info` shows it).
"""

from pathlib import Path

import dlt
import duckdb
from ivs_replicas.pipeline import duckdb_destination
from ivs_replicas.sources.ivs_realtime import ivs_realtime
from ivs_replicas.warehouse import apply_views, maintain

if __name__ == "__main__":
    database = Path("ivs_replicas.duckdb").resolve()
    pipeline = dlt.pipeline(
        pipeline_name="ivs_replicas",
        destination=duckdb_destination(database),  # DuckDB with its memory bounded
        dataset_name="ivs_realtime",
        pipelines_dir="ivs_replicas.duckdb.dlt",
    )
    print(pipeline.run(ivs_realtime()))
    with duckdb.connect(str(database)) as connection:
        views = apply_views(connection, pipeline.dataset_name)
        maintain(connection, pipeline.dataset_name)
    print(f"{len(views)} views applied in {database} (dataset {pipeline.dataset_name})")
