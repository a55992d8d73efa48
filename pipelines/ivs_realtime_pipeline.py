"""Load Amazon IVS Real-Time participant replicas into DuckDB with dlt, then derive the history.

Settings come from `[sources.ivs_realtime]` in .dlt/config.toml (or SOURCES__IVS_REALTIME__*),
credentials from .dlt/secrets.toml or boto3's standard chain. Run:

    python pipelines/ivs_realtime_pipeline.py
"""

from pathlib import Path

import duckdb
from ivs_replicas.pipeline import make_pipeline
from ivs_replicas.sources.ivs_realtime import ivs_realtime
from ivs_replicas.warehouse import apply_views, maintain

if __name__ == "__main__":
    database = Path("ivs_replicas.duckdb").resolve()
    pipeline = make_pipeline(database)
    print(pipeline.run(ivs_realtime()))
    with duckdb.connect(str(database)) as connection:
        views = apply_views(connection, pipeline.dataset_name)
        maintain(connection, pipeline.dataset_name)
    print(f"{len(views)} views applied in {database} (dataset {pipeline.dataset_name})")
