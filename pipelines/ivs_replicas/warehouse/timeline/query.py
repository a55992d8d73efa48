"""What the timeline reads: replication episodes and failed scans, the SQL in one place.

The episodes come from `replica_timeline` (one row per replica per unbroken ACTIVE stretch),
renamed into the few bounds the chart draws; the failed scans from `scans`. Only these two
queries know the views' column names.
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

# One row per episode, with the bounds the chart draws:
#   earliest_start_at  the earliest it can have started: its REPLICATION_STARTED event, else
#                      the participant's previous successful scan (NULL: first sighting)
#   start_at           the start drawn solid: the event, else the first scan that saw it ACTIVE
#   last_active_at     the stop drawn solid: the REPLICATION_STOPPED event, else the last scan
#                      that saw it ACTIVE
#   latest_stop_at     the latest it can have stopped: the event, else the scan that saw it
#                      stopped or gone (NULL while ongoing)
# $participants and $stages are lists (empty: all); a stage matches by ARN or by its id.
EPISODES_SQL = """
with

timeline as (

    select * from replica_timeline

),

episodes as (

    select
        source_stage_arn,
        participant_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id,
        case when start_source = 'event' then replication_started_at
            else observed_started_after_at end as earliest_start_at,
        case when start_source = 'event' then replication_started_at
            else observed_started_at end as start_at,
        case when stop_source = 'event' then replication_stopped_at
            else observed_last_active_at end as last_active_at,
        replication_stopped_at as latest_stop_at,
        start_source = 'event' as is_start_exact,
        coalesce(stop_source = 'event', false) as is_stop_exact,
        start_source != 'event' and observed_started_after_at is null as is_first_sighting,
        is_ongoing,
        end_reason,
        observation_count

    from timeline

),

final as (

    select * from episodes
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

READS = {"replica_timeline": "view", "scans": "view"}


class Episode(NamedTuple):
    """One replication episode, as EPISODES_SQL selects it."""

    source_stage_arn: str
    participant_id: str
    source_session_id: str
    destination_stage_arn: str
    destination_session_id: str
    earliest_start_at: datetime | None
    start_at: datetime
    last_active_at: datetime
    latest_stop_at: datetime | None
    is_start_exact: bool
    is_stop_exact: bool
    is_first_sighting: bool
    is_ongoing: bool
    end_reason: str | None
    observation_count: int


class FailedScan(NamedTuple):
    """One failed scan, as FAILED_SCANS_SQL selects it."""

    source_stage_arn: str
    participant_id: str
    scanned_at: datetime
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class Window:
    """Which episodes to draw: a time window, and participants and stages (empty: all)."""

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
        """Where ongoing episodes are drawn to: now, or --until if earlier."""
        return as_utc(min(self.now, self.until) if self.until else self.now)


@dataclass(frozen=True)
class TimelineRows:
    """The episodes and failed scans a timeline draws."""

    episodes: list[Episode]
    failed_scans: list[FailedScan]


def read_timeline(db_path: Database, dataset: str, window: Window) -> TimelineRows:
    """The episodes in the window, and the failed scans of their participants."""
    since = as_utc(window.since) if window.since else None
    until = as_utc(window.until) if window.until else None
    with closing(connect_read_only(db_path)) as connection:
        require_objects(connection, dataset, db_path, READS)
        with default_schema(connection, dataset):
            episodes = connection.execute(
                EPISODES_SQL,
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
    drawn = {(row[0], row[1]) for row in episodes}
    return TimelineRows(
        [Episode(*row) for row in episodes],
        [scan for scan in failed_scans if (scan.source_stage_arn, scan.participant_id) in drawn],
    )
