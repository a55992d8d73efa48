"""Find SOURCE publishers by themselves: stages, their sessions, and published participants."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ivs_replicas.sources.ivs_realtime.exceptions import CredentialsRejected
from ivs_replicas.sources.ivs_realtime.paging import READS_PER_PAGE, iterate_responses
from ivs_replicas.sources.ivs_realtime.participants import Participant, stage_region
from ivs_replicas.sources.ivs_realtime.scan import (
    RUN_FATAL_ERROR_CODES,
    SCAN_ERRORS,
    describe,
    utc_now,
)
from ivs_replicas.sources.ivs_realtime.settings import SCAN_FAILED, SCAN_OK

if TYPE_CHECKING:
    from ivs_replicas.sources.ivs_realtime.config import IvsRealtimeConfiguration

DISCOVERY_PAGE_SIZE = 100
SOURCE = "SOURCE"
RESULT_KEYS = {
    "ListStages": "stages",
    "ListStageSessions": "stageSessions",
    "ListParticipants": "participants",
}
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


Retry = Callable[[str | None, int], bool]
"""Whether a listing that failed with this error code after this many attempts is tried again."""


def never(code: str | None, attempts: int) -> bool:
    """No listing is tried again."""
    return False


@dataclass
class DiscoveryCall:
    """One discovery listing of a run: all its pages and items, or the reason it failed.

    ListStages lists one (account, region); ListStageSessions one stage; ListParticipants one
    session of a stage. Each is a row of the `discovery_scans` ledger.
    """

    operation: str
    account_id: str | None
    region: str
    stage_arn: str | None
    session_id: str | None
    run_id: str
    scanned_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None
    status: str = SCAN_OK
    attempts: int = 0
    pages: int = 0
    item_count: int = 0
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def of_stage(
        cls, operation: str, stage_arn: str, session_id: str | None, run_id: str
    ) -> DiscoveryCall:
        """A listing of one stage's sessions, or of one of its sessions' participants."""
        return cls(
            operation, account_of(stage_arn), stage_region(stage_arn), stage_arn, session_id, run_id
        )

    @property
    def failed(self) -> bool:
        """Whether the listing ended without all of its pages."""
        return self.status == SCAN_FAILED

    @property
    def target(self) -> str:
        """What was listed: a stage ARN (and session), or a region (and account)."""
        if self.stage_arn is None:
            return self.region + (f" (account {self.account_id})" if self.account_id else "")
        return self.stage_arn + (f" session {self.session_id}" if self.session_id else "")

    def ledger_row(self) -> dict[str, Any]:
        """The discovery_scans row of this listing."""
        return {
            "run_id": self.run_id,
            "operation": self.operation,
            "account_id": self.account_id,
            "region": self.region,
            "stage_arn": self.stage_arn,
            "session_id": self.session_id,
            "scanned_at": self.scanned_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "attempts": self.attempts,
            "pages": self.pages,
            "item_count": self.item_count,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


@dataclass
class Discovered:
    """What one discovery pass saw: rows for the tables, the SOURCE publishers to scan, and
    every listing it made, failed ones included."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[Participant, set[str]] = field(default_factory=dict)
    calls: list[DiscoveryCall] = field(default_factory=list)

    @property
    def failed_calls(self) -> list[DiscoveryCall]:
        """The listings that failed: what they would have listed is missing from this pass."""
        return [call for call in self.calls if call.failed]


@dataclass
class Lister:
    """Makes the listings of one discovery pass, each tried like a participant scan.

    A listing that fails with a transient error is made again, whole, while `retry` allows;
    an unreadable page is read again (paging.READS_PER_PAGE). Every listing is added to
    `calls`; a failed one gives no items. Rejected credentials stop the run, as in scans.
    """

    client_for: ClientFor
    max_pages: int
    run_id: str
    retry: Retry = never
    on_page_retry: Callable[[], None] | None = None
    calls: list[DiscoveryCall] = field(default_factory=list)

    def items(self, call: DiscoveryCall, **params: Any) -> list[dict[str, Any]]:
        """Every item of one listing, or none when it failed; `call` records which."""
        self.calls.append(call)
        client = self.client_for(call.account_id, call.region)
        while True:
            call.attempts += 1
            try:
                items = self._read(client, call, **params)
            except SCAN_ERRORS as error:
                code, message = describe(error)
                if code in RUN_FATAL_ERROR_CODES:
                    raise CredentialsRejected(f"AWS rejected the credentials: {message}") from error
                if self.retry(code, call.attempts):
                    continue
                call.status, call.error_code, call.error_message = SCAN_FAILED, code, message[:1000]
                items = []
            call.item_count, call.finished_at = len(items), utc_now()
            return items

    def _read(self, client: Any, call: DiscoveryCall, **params: Any) -> list[dict[str, Any]]:
        """All pages of one attempt at a listing, counted in `call`."""
        key = RESULT_KEYS[call.operation]
        call.pages = 0
        items: list[dict[str, Any]] = []
        pages = iterate_responses(
            client,
            call.operation,
            key,
            DISCOVERY_PAGE_SIZE,
            self.max_pages,
            READS_PER_PAGE,
            self.on_page_retry,
            **params,
        )
        for page in pages:
            items.extend(page[key])
            call.pages += 1
        return items


def discover(
    client_for: ClientFor,
    scope: DiscoveryScope,
    watermarks: MutableMapping[str, str],
    run_id: str,
    retry: Retry = never,
    on_page_retry: Callable[[], None] | None = None,
) -> Discovered:
    """List stages, their sessions since the last run, and their published participants.

    `watermarks` (kept in dlt state) maps a stage to the latest end time of a session that a
    successful run already saw ended; such sessions are final and are not listed again. A
    failed listing costs only its own stage (or region): the rest is discovered, the failure
    is in `calls`, and the stage keeps its watermark, so the next run lists it again.
    """
    found = Discovered()
    lister = Lister(client_for, scope.max_pages, run_id, retry, on_page_retry, found.calls)
    seen_at = utc_now()
    first_run_cutoff = seen_at - scope.lookback
    for stage in list_stages(lister, scope):
        found.stages.append(stage_row(stage, seen_at, run_id))
        arn = stage["arn"]
        call = DiscoveryCall.of_stage("ListStageSessions", arn, None, run_id)
        sessions = lister.items(call, stageArn=arn)
        if call.failed:
            continue
        watermark = _parse(watermarks.get(arn))
        newest_end = watermark
        complete = True
        for session in sessions:
            ended = session.get("endTime")
            if ended and (ended <= watermark if watermark else ended < first_run_cutoff):
                continue
            found.sessions.append(session_row(arn, session, seen_at, run_id))
            complete &= _discover_participants(lister, arn, session["sessionId"], found, seen_at)
            if ended and (newest_end is None or ended > newest_end):
                newest_end = ended
        if complete and newest_end is not None:
            watermarks[arn] = newest_end.isoformat()
    return found


def list_stages(lister: Lister, scope: DiscoveryScope) -> Iterable[dict[str, Any]]:
    """Stages in scope: the listed ARNs, or every stage of the regions, filtered by tags.

    A region whose ListStages failed adds no stage.
    """
    if scope.stage_arns:
        stages: Iterable[dict[str, Any]] = ({"arn": arn, "tags": {}} for arn in scope.stage_arns)
    else:
        stages = (
            stage
            for account in scope.accounts
            for region in scope.regions
            for stage in lister.items(
                DiscoveryCall("ListStages", account, region, None, None, lister.run_id)
            )
        )
    wanted = dict(scope.stage_tags)
    for stage in stages:
        tags = stage.get("tags") or {}
        if all(tags.get(key) == value for key, value in wanted.items()):
            yield stage


def _discover_participants(
    lister: Lister,
    stage_arn: str,
    session_id: str,
    found: Discovered,
    seen_at: datetime,
) -> bool:
    """Add the published participants of one session; SOURCE ones become scan targets.

    Returns whether the listing succeeded.
    """
    call = DiscoveryCall.of_stage("ListParticipants", stage_arn, session_id, lister.run_id)
    participants = lister.items(
        call, stageArn=stage_arn, sessionId=session_id, filterByPublished=True
    )
    for participant in participants:
        found.participants.append(
            participant_row(stage_arn, session_id, participant, seen_at, lister.run_id)
        )
        if participant.get("replicationType") == SOURCE:
            target = Participant(stage_arn, participant["participantId"])
            found.sources.setdefault(target, set()).add(session_id)
    return not call.failed


def account_of(stage_arn: str) -> str:
    """The AWS account of a stage, from its ARN."""
    return stage_arn.split(":")[4]


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
        "account_id": account_of(arn),
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
