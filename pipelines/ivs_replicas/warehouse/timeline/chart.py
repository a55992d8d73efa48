"""The timeline as a Vega-Lite chart (built with Altair): one row per participant and destination.

Each replication period is a light bar over the time it may have been replicating (from the
earliest to the latest time its snapshots and events allow) under a solid bar over the time it
certainly was; ongoing ones run on to now. Marks on the row show what the bars cannot: exact
event times, first sightings (started before tracking, unknown when), ongoing periods, and the
participant's failed scans.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ivs_replicas.warehouse.timeline.query import FailedScan, Period, TimelineRows, Window

# The bars' kinds with their colours, in the legend's order; the names are the legend's.
POSSIBLE = "possibly replicating (between scans)"
UNSEEN = "ongoing, not seen since the last scan"
STALE = "ongoing, but no recent successful scan (stale)"
CERTAIN = "replicating"
BARS = {CERTAIN: "#2f69ad", POSSIBLE: "#c6d7ec", UNSEEN: "#d9ecd0", STALE: "#f2ddb3"}

EXACT = "exact time (replication event)"
FIRST_SIGHTING = "first sighting: started before, unknown when"
ONGOING = "ongoing"
FAILED_SCAN = "failed scan"
# The marks, as Vega symbols or unit-square SVG paths (the legend shows them as drawn).
MARKS = {
    EXACT: ("M-0.12,-1L0.12,-1L0.12,1L-0.12,1Z", "#0b2345"),
    FIRST_SIGHTING: ("triangle-left", "#444444"),
    ONGOING: ("triangle-right", "#3c8a2e"),
    FAILED_SCAN: (
        "M-1,-0.7L-0.7,-1L0,-0.3L0.7,-1L1,-0.7L0.3,0L1,0.7L0.7,1L0,0.3L-0.7,1L-1,0.7L-0.3,0Z",
        "#d1302f",
    ),
}

# Layers, each a Vega-Lite mark of that name: the page counts the items drawn in each.
PERIOD, CERTAIN_BAR, UNSEEN_BAR, MARK, NOW = "period", "certain", "unseen", "mark", "now"

ROW_STEP = 18
WIDTH = 960
TOOLTIP_TIME = "%Y-%m-%d %H:%M:%S UTC"
# Tick labels by the unit the ticks fall on, 24-hour, so they stay readable while zooming.
AXIS_FORMATS = {
    "year": "%Y",
    "quarter": "%b %d",
    "month": "%b %d",
    "week": "%b %d",
    "date": "%b %d",
    "hours": "%H:%M",
    "minutes": "%H:%M",
    "seconds": "%H:%M:%S",
    "milliseconds": "%H:%M:%S.%L",
}
NONE = "-"

Item = dict[str, Any]


@dataclass(frozen=True)
class Counts:
    """What the chart draws; the page reports its own counts once drawn."""

    periods: int
    rows: int
    ongoing: int
    stale: int
    first_sightings: int
    exact_times: int
    failed_scans: int

    def summary(self) -> str:
        """One line for the command's output."""
        return (
            f"{self.periods} replication periods in {self.rows} rows: {self.ongoing} ongoing "
            f"({self.stale} stale), "
            f"{self.first_sightings} first sightings, {self.exact_times} exact event times, "
            f"{self.failed_scans} failed-scan marks"
        )


def stage_id(arn: str) -> str:
    """A stage's id: the part of its ARN after `stage/`."""
    return arn.rsplit("/", 1)[-1]


def stage_label(arn: str) -> str:
    """A source stage as its facet's header: its id and region."""
    parts = arn.split(":")
    return f"{stage_id(arn)} ({parts[3]})" if len(parts) > 5 else stage_id(arn)


def iso(moment: datetime) -> str:
    """A time as Vega parses it: UTC ISO 8601 with milliseconds and Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shown(moment: datetime | None) -> str:
    """A time as the tooltips show it."""
    return NONE if moment is None else moment.astimezone(UTC).strftime(TOOLTIP_TIME)


def duration(seconds: float | None) -> str:
    """Seconds as the tooltips show them: 3d 04:05:06."""
    if seconds is None:
        return NONE
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}d {clock}" if days else clock


def period_tip(period: Period) -> dict[str, str]:
    """One period's tooltip: its keys, and each bound with where it comes from."""
    if period.is_stop_exact:
        stop = "event"
    elif period.is_ongoing:
        stop = "last scan that saw it ACTIVE; ongoing"
    else:
        stop = "last scan that saw it ACTIVE"
    if period.is_start_exact:
        start, after = "event", "exact"
    elif period.is_first_sighting:
        start, after = "first scan that saw it ACTIVE", "unknown: the participant's first scan"
    else:
        start, after = "first scan that saw it ACTIVE", shown(period.earliest_start_at)
    tip = {
        "participant": period.participant_id,
        "source stage": period.source_stage_arn,
        "destination stage": period.destination_stage_arn,
        "started": f"{shown(period.start_at)} ({start})",
        "started after": after,
        "stopped": f"{shown(period.last_active_at)} ({stop})",
        "stopped by": "exact" if period.is_stop_exact else shown(period.latest_stop_at),
        "known active": duration(period.known_active_seconds),
        "episodes": (
            f"{period.count_episodes} in {period.count_destination_sessions} destination session(s)"
        ),
    }
    if period.is_stale:
        tip["stale"] = "no successful scan of the participant lately: it may have ended"
    return tip


def failed_scan_tip(scan: FailedScan) -> dict[str, str]:
    """A failed scan's tooltip."""
    return {
        "participant": scan.participant_id,
        "source stage": scan.source_stage_arn,
        "failed scan": shown(scan.scanned_at),
        "error": f"{scan.error_code or NONE}: {scan.error_message or NONE}",
    }


def clip(start: datetime, end: datetime, window: Window) -> tuple[datetime, datetime] | None:
    """A span cut to the window, or None when none of it is inside."""
    start = max(start, window.since) if window.since else start
    end = min(end, window.end)
    return (start, end) if start <= end else None


def period_items(period: Period, row: Item, window: Window) -> Iterator[Item]:
    """The bars and marks of one period, cut to the window."""
    tip = period_tip(period)
    earliest = period.earliest_start_at or period.start_at
    latest = window.end if period.is_ongoing else period.latest_stop_at or window.end
    spans = [
        (PERIOD, POSSIBLE, clip(earliest, latest, window)),
        (CERTAIN_BAR, CERTAIN, clip(period.start_at, period.last_active_at, window)),
    ]
    if period.is_ongoing:
        unseen = STALE if period.is_stale else UNSEEN
        spans.append((UNSEEN_BAR, unseen, clip(period.last_active_at, window.end, window)))
    for layer, kind, span in spans:
        if span is not None:
            start, end = map(iso, span)
            yield row | {"layer": layer, "kind": kind, "start": start, "end": end, "tip": tip}
    marks = [
        (EXACT, period.start_at, period.is_start_exact),
        (EXACT, period.last_active_at, period.is_stop_exact),
        (FIRST_SIGHTING, period.start_at, period.is_first_sighting),
        (ONGOING, window.end, period.is_ongoing),
    ]
    for kind, at, shown_here in marks:
        if shown_here and clip(at, at, window) is not None:
            yield row | {"layer": MARK, "kind": kind, "start": iso(at), "tip": tip | {"mark": kind}}


def chart_items(rows: TimelineRows, window: Window) -> list[Item]:
    """Every bar and mark as one table (a faceted layer chart reads one), rows in order."""
    failed_scans: dict[tuple[str, str], list[FailedScan]] = defaultdict(list)
    for scan in rows.failed_scans:
        failed_scans[scan.source_stage_arn, scan.participant_id].append(scan)
    periods: dict[tuple[str, str, str], list[Period]] = defaultdict(list)
    for period in rows.periods:
        periods[
            period.source_stage_arn, period.participant_id, period.destination_stage_arn
        ].append(period)
    items: list[Item] = []
    for order, (source, participant, destination) in enumerate(sorted(periods)):
        row = {
            "facet": stage_label(source),
            "row": f"{participant} → {stage_id(destination)}",
            "order": order,
        }
        for period in periods[source, participant, destination]:
            items.extend(period_items(period, row, window))
        for scan in failed_scans[source, participant]:
            tip = failed_scan_tip(scan)
            items.append(
                row
                | {"layer": MARK, "kind": FAILED_SCAN, "start": iso(scan.scanned_at), "tip": tip}
            )
    # one "now" line per facet, on a row it has: Vega-Lite sizes a facet by its rows, all layers'
    first_rows = {item["facet"]: item["row"] for item in reversed(items)}
    items.extend(
        {"facet": facet, "row": row, "layer": NOW, "start": iso(window.end)}
        for facet, row in sorted(first_rows.items())
    )
    return items


def count(items: list[Item]) -> Counts:
    """What the items draw: the figures the page must show once drawn."""
    marks = [item["kind"] for item in items if item["layer"] == MARK]
    return Counts(
        periods=sum(item["layer"] == PERIOD for item in items),
        rows=len({(item["facet"], item["row"]) for item in items if "row" in item}),
        ongoing=marks.count(ONGOING),
        stale=sum(item.get("kind") == STALE for item in items),
        first_sightings=marks.count(FIRST_SIGHTING),
        exact_times=marks.count(EXACT),
        failed_scans=marks.count(FAILED_SCAN),
    )


def time_domain(items: list[Item], window: Window) -> list[float]:
    """The time axis in epoch ms: the window (else the items' span) and a margin for end marks."""
    times = [
        datetime.fromisoformat(item[key])
        for item in items
        for key in ("start", "end")
        if key in item
    ] or [window.since or window.end, window.end]
    low, high = window.since or min(times), window.until or max(times)
    margin = max((high - low) * 0.015, timedelta(seconds=1))
    return [(low - margin).timestamp() * 1000, (high + margin).timestamp() * 1000]


def mark_offset() -> Any:
    """Triangles point away from the bar end they mark, so they sit just outside it."""
    import altair as alt

    nudges = {FIRST_SIGHTING: -5, ONGOING: 5}
    expression = "0"
    for kind, pixels in nudges.items():
        expression = f"datum.kind === '{kind}' ? {pixels} : {expression}"
    return alt.ExprRef(expression)


def timeline_spec(items: list[Item], domain: list[float], title: str, subtitle: str) -> Any:
    """The Vega-Lite spec: a facet per source stage, a row per participant and destination."""
    import altair as alt

    # the domain on one layer only: Vega-Lite unions the layers' domains anyway
    axis = alt.Axis(
        format=AXIS_FORMATS, tickCount=WIDTH // 110, labelOverlap="greedy", labelFlush=False
    )
    x = alt.X("start:T", title=None, scale=alt.Scale(type="utc"), axis=axis)
    x_bounded = alt.X("start:T", title=None, scale=alt.Scale(type="utc", domain=domain), axis=axis)
    y = alt.Y(
        "row:N",
        title=None,
        sort=alt.EncodingSortField("order"),
        axis=alt.Axis(labelLimit=320, domain=False, ticks=False, labelFontSize=11),
    )
    color = alt.Color(
        "kind:N",
        title="Replication",
        scale=alt.Scale(domain=list(BARS), range=list(BARS.values())),
        legend=alt.Legend(symbolType="square", symbolSize=160, symbolStrokeWidth=0),
    )
    shape = alt.Shape(
        "kind:N",
        title="Marks",
        scale=alt.Scale(domain=list(MARKS), range=[path for path, _ in MARKS.values()]),
    )
    fill = alt.Fill(
        "kind:N",
        title="Marks",
        scale=alt.Scale(domain=list(MARKS), range=[colour for _, colour in MARKS.values()]),
    )
    tooltip = alt.ExprRef("datum.tip")

    def layer(name: str) -> alt.Chart:
        """A layer of the items whose `layer` is `name`, its mark named the same."""
        return alt.Chart().transform_filter(f"datum.layer == '{name}'").properties(name=name)

    def bars(name: str, **outline: Any) -> alt.Chart:
        """One layer of bars from `start` to `end`."""
        mark = layer(name).mark_bar(height={"band": 0.7}, tooltip=tooltip, clip=True, **outline)
        return mark.encode(x=x_bounded if name == PERIOD else x, x2="end:T", y=y, color=color)

    marks = (
        layer(MARK)
        .mark_point(
            filled=True,
            opacity=1,
            size=alt.ExprRef(f"datum.kind === '{EXACT}' ? 300 : 90"),
            tooltip=tooltip,
            clip=True,
            xOffset=mark_offset(),
        )
        .encode(x=x, y=y, shape=shape, fill=fill)
    )
    now = layer(NOW).mark_rule(strokeDash=[4, 3], color="#666666").encode(x=x)
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    header = alt.Header(
        labelAngle=0,
        labelAlign="left",
        labelAnchor="start",
        labelOrient="top",
        labelFontWeight="bold",
        labelFontSize=12,
        labelPadding=4,
    )
    layers = alt.layer(
        bars(PERIOD).add_params(zoom),
        bars(UNSEEN_BAR),
        # the outline keeps a stretch that one scan saw (no length) in sight
        bars(CERTAIN_BAR, stroke=BARS[CERTAIN], strokeWidth=2),
        marks,
        now,
    )
    chart = (
        layers.properties(width=WIDTH, height=alt.Step(ROW_STEP))
        .facet(row=alt.Row("facet:N", title=None, header=header), data=alt.Data(values=items))
        .resolve_scale(y="independent")
        .resolve_axis(x="independent")
        .properties(title=alt.Title(title, subtitle=subtitle, anchor="start", fontSize=15))
        .configure_facet(spacing=18)
        .configure_legend(orient="top", direction="vertical", labelLimit=400, labelFontSize=11)
        .configure_view(stroke="#dddddd")
        .configure_axis(gridColor="#eeeeee")
    )
    return chart.to_dict()
