"""What the timeline reads: replication periods and failed scans, the SQL in one place.

The bars come from `replication_periods` (one row per source participant, destination stage
and period, whatever the destination session), renamed into the few bounds the chart draws;
the failed scans from `scans`. Only these two queries know the views' column names.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from ivs_replicas.errors import BadInputError
from ivs_replicas.warehouse.database import (
    Database,
    as_utc,
    connect_read_only,
    default_schema,
    require_objects,
)

# One row per replication period, with the bounds the chart draws:
#   earliest_start_at  the earliest it can have started: its REPLICATION_STARTED event, else
#                      the participant's previous successful scan (NULL: first sighting)
#   start_at           the start drawn solid: the event, else the first scan that saw it ACTIVE
#   last_active_at     the stop drawn solid: the REPLICATION_STOPPED event, else the last scan
#                      that saw it ACTIVE
#   latest_stop_at     the latest it can have stopped: the event, else the scan that saw it
#                      stopped or gone (NULL while ongoing)
# $participants and $stages are lists (empty: all); a stage matches by ARN or by its id.
PERIODS_SQL = """
with

periods as (

    select * from replication_periods

),

bounds as (

    select
        source_stage_arn,
        participant_id,
        destination_stage_arn,
        case when start_source = 'event' then replication_started_at
            else observed_started_after_at end as earliest_start_at,
        case when start_source = 'event' then replication_started_at
            else observed_started_at end as start_at,
        case when stop_source = 'event' then replication_stopped_at
            else observed_last_active_at end as last_active_at,
        replication_stopped_at as latest_stop_at,
        start_source = 'event' as is_start_exact,
        coalesce(stop_source = 'event', false) as is_stop_exact,
        not is_start_known as is_first_sighting,
        is_ongoing,
        coalesce(is_stale, false) as is_stale,
        count_episodes,
        count_destination_sessions,
        known_active_seconds

    from periods

),

final as (

    select * from bounds
    where
        ($since is null or coalesce(latest_stop_at, $now) >= $since)
        and ($until is null or coalesce(earliest_start_at, start_at) <= $until)
        and (len($participants) = 0 or list_contains($participants, participant_id))
        and (
            len($stages) = 0
            or list_has_any($stages, [
                source_stage_arn,
                destination_stage_arn,
                regexp_extract(source_stage_arn, '/([^/]+)$', 1),
                regexp_extract(destination_stage_arn, '/([^/]+)$', 1)
            ])
        )

)

select * from final
order by source_stage_arn, participant_id, destination_stage_arn, start_at
"""

# One row per failed scan in the window; the chart marks it on each row of its participant.
FAILED_SCANS_SQL = """
select
    source_stage_arn,
    participant_id,
    scanned_at,
    error_code,
    error_message

from scans
where
    not is_ok
    and ($since is null or scanned_at >= $since)
    and ($until is null or scanned_at <= $until)
order by source_stage_arn, participant_id, scanned_at
"""

READS = {"replication_periods": "view", "scans": "view"}


class Period(NamedTuple):
    """One replication period, as PERIODS_SQL selects it."""

    source_stage_arn: str
    participant_id: str
    destination_stage_arn: str
    earliest_start_at: datetime | None
    start_at: datetime
    last_active_at: datetime
    latest_stop_at: datetime | None
    is_start_exact: bool
    is_stop_exact: bool
    is_first_sighting: bool
    is_ongoing: bool
    is_stale: bool
    count_episodes: int
    count_destination_sessions: int
    known_active_seconds: float | None


class FailedScan(NamedTuple):
    """One failed scan, as FAILED_SCANS_SQL selects it."""

    source_stage_arn: str
    participant_id: str
    scanned_at: datetime
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class Window:
    """Which periods to draw: a time window, and participants and stages (empty: all)."""

    now: datetime
    since: datetime | None = None
    until: datetime | None = None
    participants: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise BadInputError(
                f"--since {self.since.isoformat()} is after --until {self.until.isoformat()}"
            )

    @property
    def end(self) -> datetime:
        """Where ongoing periods are drawn to: now, or --until if earlier."""
        return as_utc(min(self.now, self.until) if self.until else self.now)


@dataclass(frozen=True)
class TimelineRows:
    """The periods and failed scans a timeline draws."""

    periods: list[Period]
    failed_scans: list[FailedScan]


def read_timeline(db_path: Database, dataset: str, window: Window) -> TimelineRows:
    """The periods in the window, and the failed scans of their participants."""
    since = as_utc(window.since) if window.since else None
    until = as_utc(window.until) if window.until else None
    with closing(connect_read_only(db_path)) as connection:
        require_objects(connection, dataset, db_path, READS)
        with default_schema(connection, dataset):
            periods = connection.execute(
                PERIODS_SQL,
                {
                    "now": window.end,
                    "since": since,
                    "until": until,
                    "participants": list(window.participants),
                    "stages": list(window.stages),
                },
            ).fetchall()
            failed = connection.execute(FAILED_SCANS_SQL, {"since": since, "until": until})
            failed_scans = [FailedScan(*row) for row in failed.fetchall()]
    drawn = {(row[0], row[1]) for row in periods}
    return TimelineRows(
        [Period(*row) for row in periods],
        [scan for scan in failed_scans if (scan.source_stage_arn, scan.participant_id) in drawn],
    )
