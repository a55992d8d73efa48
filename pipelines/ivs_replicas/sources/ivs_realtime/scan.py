"""Scan one participant's replicas through botocore's paginator, all pages or none."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from ivs_replicas.sources.ivs_realtime.paging import (
    MalformedPageError,
    PaginationError,
    iterate_pages,
)
from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.settings import (
    LIST_REPLICAS_OPERATION,
    REPLICA_KEY,
    SCAN_FAILED,
    SCAN_OK,
)

API_FIELDS = {
    "sourceStageArn": "source_stage_arn",
    "participantId": "participant_id",
    "sourceSessionId": "source_session_id",
    "destinationStageArn": "destination_stage_arn",
    "destinationSessionId": "destination_session_id",
    "replicationState": "replication_state",
}


class ReplicaRow(NamedTuple):
    """One replica as loaded: the API's fields, snake-cased, in API_FIELDS order."""

    source_stage_arn: str
    participant_id: str
    source_session_id: str
    destination_stage_arn: str
    destination_session_id: str
    replication_state: str

    @property
    def key(self) -> tuple[str, ...]:
        """The replica's identity (REPLICA_KEY): every field but its state."""
        return self[: len(REPLICA_KEY)]


# Errors that no participant can get past: they fail the whole run.
RUN_FATAL_ERROR_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
        "MissingAuthenticationTokenException",
        "NoCredentialsError",
        "PartialCredentialsError",
    }
)


@dataclass
class ScanResult:
    """What one scan of one participant found: every replica row, or the reason it failed."""

    participant: Participant
    run_id: str
    scanned_at: datetime
    finished_at: datetime
    status: str = SCAN_OK
    pages: int = 0
    rows: list[ReplicaRow] = field(default_factory=list)
    duplicates: int = 0
    error_code: str | None = None
    error_message: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    events_error_code: str | None = None

    @property
    def held_rows(self) -> int:
        """Rows this scan counts for in batches and buffers: its replicas plus its ledger row."""
        return len(self.rows) + 1

    def ledger_row(self) -> dict[str, Any]:
        """The participant_scans row of this scan."""
        participant = self.participant
        return {
            "run_id": self.run_id,
            "source_stage_arn": participant.source_stage_arn,
            "participant_id": participant.participant_id,
            "region": participant.region,
            "account_id": participant.account_id,
            "scanned_at": self.scanned_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "pages": self.pages,
            "replica_count": len(self.rows),
            "error_code": self.error_code,
            "error_message": self.error_message,
            "event_count": len(self.events),
            "events_error_code": self.events_error_code,
        }


def replica_rows(
    replicas: list[dict[str, str]], seen: set[tuple[str, ...]]
) -> Iterator[ReplicaRow]:
    """Rows of one page, skipping replicas already seen in this scan."""
    for replica in replicas:
        row = ReplicaRow._make([replica.get(api_name) for api_name in API_FIELDS])
        key = row.key
        if key not in seen:
            seen.add(key)
            yield row


def scan_participant(
    client: Any, participant: Participant, run_id: str, page_size: int, max_pages: int
) -> ScanResult:
    """Scan all pages of one participant; on any error keep no rows and record why."""
    started = utc_now()
    result = ScanResult(participant, run_id, scanned_at=started, finished_at=started)
    seen: set[tuple[str, ...]] = set()
    received = 0
    try:
        pages = iterate_pages(
            client,
            LIST_REPLICAS_OPERATION,
            "replicas",
            page_size,
            max_pages,
            sourceStageArn=participant.source_stage_arn,
            participantId=participant.participant_id,
        )
        for replicas in pages:
            received += len(replicas)
            result.pages += 1
            result.rows.extend(replica_rows(replicas, seen))
    except SCAN_ERRORS as error:
        result = failed(result, *describe(error))
    result.duplicates = received - len(result.rows) if result.status == SCAN_OK else 0
    result.finished_at = utc_now()
    return result


SCAN_ERRORS = (ClientError, BotoCoreError, PaginationError, MalformedPageError)


def describe(error: Exception) -> tuple[str, str]:
    """The error code and message of a failed call, as AWS names them."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        message = details.get("Message") or error.response.get("exceptionMessage") or error
        return str(details.get("Code", "ClientError")), str(message)
    return str(getattr(error, "code", type(error).__name__)), str(error)


def failed(result: ScanResult, code: str, message: str) -> ScanResult:
    """Mark a scan failed, dropping any rows it had gathered."""
    result.status = SCAN_FAILED
    result.rows = []
    result.error_code = code
    result.error_message = message[:1000]
    return result


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
