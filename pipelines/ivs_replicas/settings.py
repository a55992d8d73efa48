"""Defaults of the scheduled job: where it loads, and the names dlt keeps it under.

Kept free of heavy imports: the command line reads it before it knows which command runs.
"""

from typing import Final

DEFAULT_DATABASE: Final = "ivs_replicas.duckdb"
DEFAULT_DATASET: Final = "ivs_realtime"
PIPELINE_NAME: Final = "ivs_replicas"
