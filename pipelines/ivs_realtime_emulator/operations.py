"""The served operations: each takes validated parameters and returns the response body."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivs_realtime_emulator import model
from ivs_realtime_emulator.faults import matches_participant
from ivs_realtime_emulator.paging import open_cursor, page
from ivs_realtime_emulator.protocol import VALIDATION, ApiError, encode

if TYPE_CHECKING:
    from ivs_realtime_emulator.service import Service


@dataclass(frozen=True, slots=True)
class Encoded:
    """A response body already encoded as JSON, with the number of items it lists."""

    body: bytes
    items: int


Handler = Callable[["Service", dict[str, Any], str], "dict[str, Any] | Encoded"]
_FILTERS = ("filterByUserId", "filterByPublished", "filterByState", "filterByRecordingState")


def _encoded_list(key: str, rows: Sequence[bytes], next_token: str | None) -> Encoded:
    """Assemble ``{"key": [rows...], "nextToken": ...}`` from pre-encoded rows."""
    tail = b"]}" if next_token is None else b'],"nextToken":' + encode(next_token) + b"}"
    return Encoded(b'{"' + key.encode() + b'":[' + b",".join(rows) + tail, len(rows))


def _paging_fault(svc: Service, stage_arn: str, participant_id: str) -> str | None:
    """Return the paging fault configured for a participant, if any."""
    f = svc.faults
    if matches_participant(f.cycle_participants, stage_arn, participant_id):
        return "cycle"
    if matches_participant(f.empty_page_participants, stage_arn, participant_id):
        return "empty_page"
    if matches_participant(f.duplicate_across_pages, stage_arn, participant_id):
        return "duplicate"
    return None


def list_participant_replicas(svc: Service, params: dict[str, Any], region: str) -> Encoded:
    """ListParticipantReplicas: the replicas of one source participant, paged."""
    stage_arn, participant_id = params["sourceStageArn"], params["participantId"]
    scope = f"{model.LIST_PARTICIPANT_REPLICAS}|{stage_arn}|{participant_id}"
    cursor = open_cursor(svc.tokens, scope, params, svc.epoch)
    rows = svc.replica_rows(stage_arn, participant_id, cursor.epoch)
    fault = _paging_fault(svc, stage_arn, participant_id)
    if fault == "empty_page" and not cursor.resumed:
        svc.stats.fault("empty_page")
        return _encoded_list("replicas", (), cursor.token(svc.tokens, 0))
    start = cursor.offset
    if fault == "duplicate" and 0 < start <= len(rows) and cursor.limit > 1:
        svc.stats.fault("duplicate")
        start -= 1
    chunk = rows[start : start + cursor.limit]
    end = start + len(chunk)
    next_token = cursor.token(svc.tokens, end) if end < len(rows) else None
    if fault == "cycle":
        svc.stats.fault("cycle")
        next_token = params.get("nextToken") or cursor.token(svc.tokens, end)
    return _encoded_list("replicas", chunk, next_token)


def paged(
    svc: Service,
    key: str,
    scope: str,
    params: dict[str, Any],
    items_at: Callable[[int], Sequence[dict[str, Any]]],
) -> dict[str, Any]:
    """Page a list computed for the cursor's epoch (used by the discovery operations)."""
    cursor = open_cursor(svc.tokens, scope, params, svc.epoch)
    chunk, token = page(svc.tokens, cursor, items_at(cursor.epoch))
    body: dict[str, Any] = {key: list(chunk)}
    if token:
        body["nextToken"] = token
    return body


def list_stages(svc: Service, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListStages: the stages of the signing region, by ARN."""
    topology = svc.scenario.topology
    scope = f"{model.LIST_STAGES}|{region}"
    return paged(svc, "stages", scope, params, lambda e: topology.stage_summaries(region, e))


def list_stage_sessions(svc: Service, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListStageSessions: the sessions of a stage that have started, newest first."""
    topology, arn = svc.scenario.topology, params["stageArn"]
    scope = f"{model.LIST_STAGE_SESSIONS}|{arn}"
    return paged(svc, "stageSessions", scope, params, lambda e: topology.session_summaries(arn, e))


def list_participants(svc: Service, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListParticipants: the participants of a session, with at most one filter."""
    used = {name: params[name] for name in _FILTERS if params.get(name) is not None}
    if len(used) > 1:
        raise ApiError(
            VALIDATION,
            f"Only one of {', '.join(_FILTERS)} can be provided per request; got {sorted(used)}",
        )
    topology, arn, session_id = svc.scenario.topology, params["stageArn"], params["sessionId"]
    scope = f"{model.LIST_PARTICIPANTS}|{arn}|{session_id}|{used!r}"
    field = {
        "filterByUserId": "userId",
        "filterByPublished": "published",
        "filterByState": "state",
        "filterByRecordingState": "recordingState",
    }

    def items_at(epoch: int) -> list[dict[str, Any]]:
        found = topology.participants(arn, session_id, epoch)
        return [p for p in found if all(p.get(field[k]) == v for k, v in used.items())]

    return paged(svc, "participants", scope, params, items_at)


def list_participant_events(svc: Service, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListParticipantEvents: one participant's events in a session, oldest first."""
    topology = svc.scenario.topology
    arn, session_id, pid = params["stageArn"], params["sessionId"], params["participantId"]
    scope = f"{model.LIST_PARTICIPANT_EVENTS}|{arn}|{session_id}|{pid}"
    return paged(
        svc, "events", scope, params, lambda e: list(topology.events(arn, session_id, pid, e))
    )


HANDLERS: dict[str, Handler] = {
    model.LIST_PARTICIPANT_REPLICAS: list_participant_replicas,
    model.LIST_STAGES: list_stages,
    model.LIST_STAGE_SESSIONS: list_stage_sessions,
    model.LIST_PARTICIPANTS: list_participants,
    model.LIST_PARTICIPANT_EVENTS: list_participant_events,
}
