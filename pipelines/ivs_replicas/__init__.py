"""ivs-replicas: Amazon IVS Real-Time participant replicas, extracted with dlt into DuckDB."""

__version__ = "0.1.0"
