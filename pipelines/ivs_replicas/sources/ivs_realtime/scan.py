"""Scan one participant's replicas through botocore's paginator, all pages or none."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, cast

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import ListShape, StringShape, StructureShape

from ivs_replicas.sources.ivs_realtime.paging import (
    READS_PER_PAGE,
    MalformedPageError,
    PaginationError,
    iterate_responses,
)
from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.settings import (
    LIST_REPLICAS_OPERATION,
    REPLICA_KEY,
    SCAN_FAILED,
    SCAN_OK,
    SERVICE_NAME,
)

API_FIELDS = {
    "sourceStageArn": "source_stage_arn",
    "participantId": "participant_id",
    "sourceSessionId": "source_session_id",
    "destinationStageArn": "destination_stage_arn",
    "destinationSessionId": "destination_session_id",
    "replicationState": "replication_state",
}
API_NAMES = tuple(API_FIELDS)
REPLICAS_AS_SENT = "ReplicasAsSent"
"""Key of a page's replicas as the service sent them, beside botocore's parsed `replicas`."""

MALFORMED_REPLICA = "MalformedReplica"
RUN_DEADLINE_EXCEEDED = "RunDeadlineExceeded"


class ReplicaRow(NamedTuple):
    """One replica as loaded: the API's fields, snake-cased, in API_FIELDS order, then the
    members the service model does not know, as JSON text (None when there are none)."""

    source_stage_arn: str
    participant_id: str
    source_session_id: str
    destination_stage_arn: str
    destination_session_id: str
    replication_state: str
    unknown_fields: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        """The replica's identity (REPLICA_KEY): every field but its state."""
        return cast("tuple[str, ...]", self[: len(REPLICA_KEY)])


class MalformedReplicaError(Exception):
    """A replica that does not match the service model: its participant's scan fails."""

    code = MALFORMED_REPLICA


class ReplicaModel(NamedTuple):
    """What botocore's service model says a replica is: its members, required ones, enums."""

    members: frozenset[str]
    required: tuple[str, ...]
    strings: tuple[str, ...]
    enums: Mapping[str, frozenset[str]]


@cache
def replica_model() -> ReplicaModel:
    """The ParticipantReplica shape of ListParticipantReplicas' output, from botocore's model."""
    service = botocore.session.get_session().get_service_model(SERVICE_NAME)
    output = service.operation_model(LIST_REPLICAS_OPERATION).output_shape
    replicas = output.members["replicas"] if output is not None else None
    assert isinstance(replicas, ListShape)
    shape = replicas.member
    assert isinstance(shape, StructureShape)
    members = shape.members
    return ReplicaModel(
        members=frozenset(members),
        required=tuple(shape.required_members),
        strings=tuple(name for name, member in members.items() if member.type_name == "string"),
        enums={
            name: frozenset(member.enum)
            for name, member in members.items()
            if isinstance(member, StringShape) and member.enum
        },
    )


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
    unknown_field_names: set[str] = field(default_factory=set)

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
    replicas: list[Any], seen: set[tuple[str, ...]], unknown_names: set[str]
) -> Iterator[ReplicaRow]:
    """Rows of one page, skipping replicas already seen in this scan.

    Raises MalformedReplicaError at the first replica that does not match the service model.
    Members the model does not know are kept as JSON, and their names added to unknown_names.
    """
    model = replica_model()
    members = model.members
    enums = [(API_NAMES.index(name), allowed) for name, allowed in model.enums.items()]
    for number, replica in enumerate(replicas, start=1):
        # The common case first, cheaply: an object whose fields are strings of their enums.
        values = [replica.get(name) for name in API_NAMES] if type(replica) is dict else None
        if (
            values is None
            or [value for value in values if type(value) is not str]
            or [index for index, allowed in enums if values[index] not in allowed]
        ):
            problem = replica_problem(replica) or "it differs from the loaded fields"
            raise MalformedReplicaError(
                f"replica {number} does not match the service model: {problem}"
            )
        extra = None
        if len(replica) > len(API_NAMES):
            unknown = {name: value for name, value in replica.items() if name not in members}
            if unknown:
                unknown_names.update(unknown)
                extra = json.dumps(
                    unknown, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
        values.append(extra)
        row = ReplicaRow._make(values)
        key = row.key
        if key not in seen:
            seen.add(key)
            yield row


def replica_problem(replica: Any) -> str | None:
    """What makes a replica differ from the service model, naming the field; None if nothing."""
    if not isinstance(replica, dict):
        return f"it is {json_kind(replica)}, not an object"
    model = replica_model()
    for name in model.required:
        if replica.get(name) is None:
            state = "null" if name in replica else "missing"
            return f"{name} is {state}; the service model requires it"
    for name in model.strings:
        value = replica.get(name)
        if value is not None and not isinstance(value, str):
            return f"{name} is {json_kind(value)} ({shorten(value)}), not a string"
    for name, allowed in model.enums.items():
        value = replica.get(name)
        if value is not None and value not in allowed:
            return f"{name} is {shorten(value)}, not one of {', '.join(sorted(allowed))}"
    return None


def json_kind(value: object) -> str:
    """How JSON names the type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def shorten(value: object, limit: int = 60) -> str:
    """A value as JSON, cut to `limit` characters for an error message."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def keep_replicas_as_sent(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore `before-parse` hook: keep a page's replicas as sent, beside botocore's parse.

    botocore's parser drops members the model does not know and reads null as absent, so the
    scan checks the replicas as sent. An item that is not an object would make the parser fail
    with an AttributeError; it fails the participant here instead.
    """
    if response_dict.get("status_code", 500) >= 300:
        return
    try:
        body = json.loads(response_dict.get("body") or b"")
    except (ValueError, TypeError):
        return  # unreadable: botocore parses it into a page without replicas
    replicas = body.get("replicas") if isinstance(body, dict) else None
    if replicas is None:
        return
    if not isinstance(replicas, list):
        raise MalformedPageError(f"replicas is {json_kind(replicas)}, not a list")
    for number, replica in enumerate(replicas, start=1):
        if not isinstance(replica, dict):
            raise MalformedReplicaError(
                f"replica {number} does not match the service model: "
                f"it is {json_kind(replica)}, not an object"
            )
    customized_response_dict[REPLICAS_AS_SENT] = replicas


def scan_participant(
    client: Any,
    participant: Participant,
    run_id: str,
    page_size: int,
    max_pages: int,
    reads_per_page: int = READS_PER_PAGE,
    on_page_retry: Callable[[], None] | None = None,
) -> ScanResult:
    """Scan all pages of one participant; on any error keep no rows and record why.

    An unreadable page is read again, up to `reads_per_page` reads; `on_page_retry` counts them.
    """
    started = utc_now()
    result = ScanResult(participant, run_id, scanned_at=started, finished_at=started)
    seen: set[tuple[str, ...]] = set()
    received = 0
    try:
        pages = iterate_responses(
            client,
            LIST_REPLICAS_OPERATION,
            "replicas",
            page_size,
            max_pages,
            reads_per_page,
            on_page_retry,
            sourceStageArn=participant.source_stage_arn,
            participantId=participant.participant_id,
        )
        for page in pages:
            replicas = page.get(REPLICAS_AS_SENT, page["replicas"])
            result.rows.extend(replica_rows(replicas, seen, result.unknown_field_names))
            received += len(replicas)
            result.pages += 1
    except MalformedReplicaError as error:
        result = failed(result, error.code, f"page {result.pages + 1}, {error}")
    except SCAN_ERRORS as error:
        result = failed(result, *describe(error))
    result.duplicates = received - len(result.rows) if result.status == SCAN_OK else 0
    result.finished_at = utc_now()
    return result


def unfinished(participant: Participant, run_id: str, reason: str) -> ScanResult:
    """The failed scan of a participant that the run's deadline left unscanned or unfinished."""
    now = utc_now()
    return failed(ScanResult(participant, run_id, now, now), RUN_DEADLINE_EXCEEDED, reason)


SCAN_ERRORS = (
    ClientError,
    BotoCoreError,
    PaginationError,
    MalformedPageError,
    MalformedReplicaError,
)


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
