"""Find SOURCE publishers by themselves: stages, their sessions, and published participants."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ivs_replicas.sources.ivs_realtime.paging import iterate_pages
from ivs_replicas.sources.ivs_realtime.participants import Participant, stage_region
from ivs_replicas.sources.ivs_realtime.scan import utc_now

if TYPE_CHECKING:
    from ivs_replicas.sources.ivs_realtime.config import IvsRealtimeConfiguration

logger = logging.getLogger(__name__)

DISCOVERY_PAGE_SIZE = 100
SOURCE = "SOURCE"
ClientFor = Callable[[str | None, str], Any]


@dataclass(frozen=True)
class DiscoveryScope:
    """Which stages discovery looks at, and how far back it looks on a first run."""

    regions: tuple[str, ...]
    stage_arns: tuple[str, ...]
    stage_tags: Mapping[str, str]
    accounts: tuple[str | None, ...]
    lookback: timedelta
    max_pages: int

    @classmethod
    def from_config(
        cls, config: IvsRealtimeConfiguration, accounts: tuple[str | None, ...]
    ) -> DiscoveryScope:
        """The scope the discovery settings describe, over the given accounts."""
        return cls(
            regions=tuple(config.discovery_regions or ()),
            stage_arns=tuple(config.discovery_stage_arns or ()),
            stage_tags=dict(config.discovery_stage_tags or {}),
            accounts=accounts,
            lookback=timedelta(hours=config.session_lookback_hours),
            max_pages=config.max_pages,
        )


@dataclass
class Discovered:
    """What one discovery pass saw: rows for the tables and the SOURCE publishers to scan."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[Participant, set[str]] = field(default_factory=dict)
    skipped_sessions: int = 0
    failures: list[str] = field(default_factory=list)


def discover(
    client_for: ClientFor,
    scope: DiscoveryScope,
    watermarks: MutableMapping[str, str],
    run_id: str,
) -> Discovered:
    """List stages, their sessions since the last run, and their published participants.

    `watermarks` (kept in dlt state) maps a stage to the latest end time of a session that a
    successful run already saw ended; such sessions are final and are not listed again.
    """
    found = Discovered()
    seen_at = utc_now()
    first_run_cutoff = seen_at - scope.lookback
    for stage in list_stages(client_for, scope):
        found.stages.append(stage_row(stage, seen_at, run_id))
        arn = stage["arn"]
        client = client_for(arn.split(":")[4], stage_region(arn))
        try:
            sessions = list(
                _pages(client, "ListStageSessions", "stageSessions", scope, stageArn=arn)
            )
        except (ClientError, BotoCoreError) as error:
            found.failures.append(f"{arn}: {error}")
            continue
        watermark = _parse(watermarks.get(arn))
        newest_end = watermark
        for session in sessions:
            ended = session.get("endTime")
            if ended and (ended <= watermark if watermark else ended < first_run_cutoff):
                found.skipped_sessions += 1
                continue
            found.sessions.append(session_row(arn, session, seen_at, run_id))
            _discover_participants(client, scope, arn, session["sessionId"], found, seen_at, run_id)
            if ended and (newest_end is None or ended > newest_end):
                newest_end = ended
        if newest_end is not None:
            watermarks[arn] = newest_end.isoformat()
    return found


def list_stages(client_for: ClientFor, scope: DiscoveryScope) -> Iterable[dict[str, Any]]:
    """Stages in scope: the listed ARNs, or every stage of the regions, filtered by tags."""
    if scope.stage_arns:
        stages: Iterable[dict[str, Any]] = ({"arn": arn, "tags": {}} for arn in scope.stage_arns)
    else:
        stages = (
            stage
            for account in scope.accounts
            for region in scope.regions
            for page in iterate_pages(
                client_for(account, region),
                "ListStages",
                "stages",
                DISCOVERY_PAGE_SIZE,
                scope.max_pages,
            )
            for stage in page
        )
    wanted = dict(scope.stage_tags)
    for stage in stages:
        tags = stage.get("tags") or {}
        if all(tags.get(key) == value for key, value in wanted.items()):
            yield stage


def _discover_participants(
    client: Any,
    scope: DiscoveryScope,
    stage_arn: str,
    session_id: str,
    found: Discovered,
    seen_at: datetime,
    run_id: str,
) -> None:
    """Add the published participants of one session; SOURCE ones become scan targets."""
    pages = _pages(
        client,
        "ListParticipants",
        "participants",
        scope,
        stageArn=stage_arn,
        sessionId=session_id,
        filterByPublished=True,
    )
    for participant in pages:
        found.participants.append(
            participant_row(stage_arn, session_id, participant, seen_at, run_id)
        )
        if participant.get("replicationType") == SOURCE:
            target = Participant(stage_arn, participant["participantId"])
            found.sources.setdefault(target, set()).add(session_id)


def _pages(client: Any, operation: str, key: str, scope: DiscoveryScope, **params: Any) -> Any:
    """Items of every page of a discovery listing."""
    for page in iterate_pages(
        client, operation, key, DISCOVERY_PAGE_SIZE, scope.max_pages, **params
    ):
        yield from page


def _parse(value: str | None) -> datetime | None:
    """A stored ISO timestamp, or None."""
    return datetime.fromisoformat(value) if value else None


def stage_row(stage: Mapping[str, Any], seen_at: datetime, run_id: str) -> dict[str, Any]:
    """A `stages` row."""
    arn = stage["arn"]
    return {
        "stage_arn": arn,
        "name": stage.get("name"),
        "region": stage_region(arn),
        "account_id": arn.split(":")[4],
        "active_session_id": stage.get("activeSessionId"),
        "tags": json.dumps(stage.get("tags") or {}, sort_keys=True),
        "last_seen_at": seen_at,
        "run_id": run_id,
    }


def session_row(
    stage_arn: str, session: Mapping[str, Any], seen_at: datetime, run_id: str
) -> dict[str, Any]:
    """A `stage_sessions` row."""
    return {
        "session_key": f"{stage_arn}|{session['sessionId']}",
        "stage_arn": stage_arn,
        "session_id": session["sessionId"],
        "started_at": session.get("startTime"),
        "ended_at": session.get("endTime"),
        "last_seen_at": seen_at,
        "run_id": run_id,
    }


def participant_row(
    stage_arn: str, session_id: str, participant: Mapping[str, Any], seen_at: datetime, run_id: str
) -> dict[str, Any]:
    """A `participants` row."""
    participant_id = participant["participantId"]
    return {
        "participant_key": f"{stage_arn}|{session_id}|{participant_id}",
        "stage_arn": stage_arn,
        "session_id": session_id,
        "participant_id": participant_id,
        "user_id": participant.get("userId"),
        "state": participant.get("state"),
        "first_join_at": participant.get("firstJoinTime"),
        "is_published": participant.get("published"),
        "replication_type": participant.get("replicationType"),
        "replication_state": participant.get("replicationState"),
        "source_stage_arn": participant.get("sourceStageArn"),
        "source_session_id": participant.get("sourceSessionId"),
        "last_seen_at": seen_at,
        "run_id": run_id,
    }
