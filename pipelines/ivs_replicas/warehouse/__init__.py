"""The DuckDB side, one job per module; the functions the command line and pipelines call are here.

- catalog: the view files in sql/ and every table's and view's metadata (sql/schema.yml)
- database: read-only connections, DuckDB's errors as ones a user can act on, quoting
- views: the loaded tables the views read (DDL from the source's Arrow schemas), apply_views
- derived: the derived tables the views read, kept up to date after each load; rebuild
- report: one table or view in report order, and the overview (SQL in sql/overview/)
- render: frames as an aligned table, Markdown, CSV or JSON
- export: every table and view as Parquet
- dictionary: README's data dictionary, generated from the catalogue
"""

from ivs_replicas.warehouse.derived import maintain, rebuild
from ivs_replicas.warehouse.export import export_parquet
from ivs_replicas.warehouse.render import render
from ivs_replicas.warehouse.report import overview, overview_rows, query_view
from ivs_replicas.warehouse.views import apply_views

__all__ = [
    "apply_views",
    "export_parquet",
    "maintain",
    "overview",
    "overview_rows",
    "query_view",
    "rebuild",
    "render",
]
