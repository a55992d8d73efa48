"""`ivs-replicas timeline`: replication periods per participant and destination, as a picture.

- query: the SQL it reads (periods from `replication_periods`, failed scans from `scans`)
- chart: the rows as bars and marks, and the Vega-Lite spec (Altair)
- page: the spec as one offline HTML page, and as a PNG (vl-convert)

Altair and vl-convert are the optional extra `timeline`; nothing imports them before a chart
is drawn, and a missing one fails with how to install it.
"""

from __future__ import annotations

from pathlib import Path

from ivs_replicas.warehouse.database import Database, as_utc
from ivs_replicas.warehouse.timeline.chart import (
    Counts,
    chart_items,
    count,
    time_domain,
    timeline_spec,
)
from ivs_replicas.warehouse.timeline.page import compiled, require_plotting, write_html, write_png
from ivs_replicas.warehouse.timeline.query import Window, read_timeline

__all__ = ["Counts", "Window", "write_timeline"]


def write_timeline(
    db_path: Database,
    dataset: str,
    window: Window,
    html: Path | None = None,
    png: Path | None = None,
) -> Counts:
    """Draw the periods in the window into an HTML page and/or a PNG; return what it drew."""
    require_plotting()
    rows = read_timeline(db_path, dataset, window)
    items = chart_items(rows, window)
    drawn = count(items)
    spec = compiled(
        timeline_spec(
            items,
            time_domain(items, window),
            "Replication timeline",
            subtitle(dataset, db_path, window, drawn),
        )
    )
    if html is not None:
        write_html(spec, f"Replication timeline: {dataset}", html)
    if png is not None:
        write_png(spec, png)
    return drawn


def subtitle(dataset: str, db_path: Database, window: Window, drawn: Counts) -> str:
    """What the chart shows, where from, and as of when."""
    shown = f"{drawn.periods} replication periods in {drawn.rows} rows, {drawn.ongoing} ongoing"
    if drawn.stale:
        shown += f" ({drawn.stale} stale)"
    if drawn.failed_scans:
        shown += f", {drawn.failed_scans} failed-scan marks"
    if window.since:
        shown += f" from {as_utc(window.since):%Y-%m-%d %H:%M:%S}"
    if window.until:
        shown += f" until {as_utc(window.until):%Y-%m-%d %H:%M:%S}"
    return f"{shown} · dataset {dataset} in {db_path} · drawn to {window.end:%Y-%m-%d %H:%M:%S} UTC"
