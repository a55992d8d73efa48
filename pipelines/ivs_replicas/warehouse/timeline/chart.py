"""The timeline as a Vega-Lite chart (built with Altair): one row per participant and destination.

Each episode is a light bar over the time it may have been replicating (from the earliest to
the latest time its snapshots and events allow) under a solid bar over the time it certainly
was; ongoing ones run on to now. Marks on the row show what the bars cannot: exact event
times, first sightings (started before tracking, unknown when), ongoing episodes, and the
participant's failed scans.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ivs_replicas.warehouse.timeline.query import Episode, FailedScan, TimelineRows, Window

# The bars, bottom to top, with their colours; the names are the legend's.
POSSIBLE = "possibly replicating (between scans)"
UNSEEN = "ongoing, not seen since the last scan"
CERTAIN = "replicating"
BARS = {POSSIBLE: "#c6d7ec", UNSEEN: "#d9ecd0", CERTAIN: "#2f69ad"}

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
EPISODE, CERTAIN_BAR, UNSEEN_BAR, MARK, NOW = "episode", "certain", "unseen", "mark", "now"

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

    episodes: int
    rows: int
    ongoing: int
    first_sightings: int
    exact_times: int
    failed_scans: int

    def summary(self) -> str:
        """One line for the command's output."""
        return (
            f"{self.episodes} episodes in {self.rows} rows: {self.ongoing} ongoing, "
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


def episode_tip(episode: Episode) -> dict[str, str]:
    """One episode's tooltip: its keys, and each bound with where it comes from."""
    if episode.is_stop_exact:
        stop = "event"
    elif episode.is_ongoing:
        stop = "last scan that saw it ACTIVE; ongoing"
    else:
        stop = "last scan that saw it ACTIVE"
    start = "event" if episode.is_start_exact else "first scan that saw it ACTIVE"
    return {
        "participant": episode.participant_id,
        "source stage": episode.source_stage_arn,
        "source session": episode.source_session_id,
        "destination stage": episode.destination_stage_arn,
        "destination session": episode.destination_session_id,
        "started": f"{shown(episode.start_at)} ({start})",
        "started after": "exact" if episode.is_start_exact else shown(episode.earliest_start_at),
        "stopped": f"{shown(episode.last_active_at)} ({stop})",
        "stopped by": "exact" if episode.is_stop_exact else shown(episode.latest_stop_at),
        "end": episode.end_reason or NONE,
        "successful scans that saw it": str(episode.observation_count),
    }


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


def episode_items(episode: Episode, row: Item, window: Window) -> Iterator[Item]:
    """The bars and marks of one episode, cut to the window."""
    tip = episode_tip(episode)
    earliest = episode.earliest_start_at or episode.start_at
    latest = window.end if episode.is_ongoing else episode.latest_stop_at or window.end
    spans = [
        (EPISODE, POSSIBLE, clip(earliest, latest, window)),
        (CERTAIN_BAR, CERTAIN, clip(episode.start_at, episode.last_active_at, window)),
    ]
    if episode.is_ongoing:
        spans.append((UNSEEN_BAR, UNSEEN, clip(episode.last_active_at, window.end, window)))
    for layer, kind, span in spans:
        if span is not None:
            start, end = map(iso, span)
            yield row | {"layer": layer, "kind": kind, "start": start, "end": end, "tip": tip}
    marks = [
        (EXACT, episode.start_at, episode.is_start_exact),
        (EXACT, episode.last_active_at, episode.is_stop_exact),
        (FIRST_SIGHTING, episode.start_at, episode.is_first_sighting),
        (ONGOING, window.end, episode.is_ongoing),
    ]
    for kind, at, shown_here in marks:
        if shown_here and clip(at, at, window) is not None:
            yield row | {"layer": MARK, "kind": kind, "start": iso(at), "tip": tip | {"mark": kind}}


def chart_items(rows: TimelineRows, window: Window) -> list[Item]:
    """Every bar and mark as one table (a faceted layer chart reads one), rows in order."""
    failed_scans: dict[tuple[str, str], list[FailedScan]] = defaultdict(list)
    for scan in rows.failed_scans:
        failed_scans[scan.source_stage_arn, scan.participant_id].append(scan)
    episodes: dict[tuple[str, str, str], list[Episode]] = defaultdict(list)
    for episode in rows.episodes:
        key = (episode.source_stage_arn, episode.participant_id, episode.destination_stage_arn)
        episodes[key].append(episode)
    items: list[Item] = []
    for order, (source, participant, destination) in enumerate(sorted(episodes)):
        row = {
            "facet": stage_label(source),
            "row": f"{participant} → {stage_id(destination)}",
            "order": order,
        }
        for episode in episodes[source, participant, destination]:
            items.extend(episode_items(episode, row, window))
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
        episodes=sum(item["layer"] == EPISODE for item in items),
        rows=len({(item["facet"], item["row"]) for item in items if "row" in item}),
        ongoing=marks.count(ONGOING),
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
        return mark.encode(x=x_bounded if name == EPISODE else x, x2="end:T", y=y, color=color)

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
        bars(EPISODE).add_params(zoom),
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
