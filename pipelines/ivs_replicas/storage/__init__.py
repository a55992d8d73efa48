"""Where runs write and what analysts open: one DuckDB file, or a DuckLake."""
