"""The served operations: each takes validated parameters and returns the response body.

A handler sees only its ``Context``: what the scenario lists in any epoch, the current
epoch, the token codec, the faults in force and the counters. It never sees the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ivs_realtime_emulator import model
from ivs_realtime_emulator.faults import Faults, matches_participant
from ivs_realtime_emulator.paging import open_cursor, page
from ivs_realtime_emulator.protocol import VALIDATION, ApiError, encode
from ivs_realtime_emulator.stats import Stats
from ivs_realtime_emulator.tokens import TokenCodec


class Listings(Protocol):
    """What the scenario lists, in any epoch (a listing keeps reading the epoch it began in)."""

    def replica_rows(self, stage_arn: str, participant_id: str, epoch: int) -> Sequence[bytes]:
        """JSON-encoded ListParticipantReplicas items of one participant."""
        ...

    def stage_summaries(self, region: str, epoch: int) -> Sequence[dict[str, Any]]:
        """ListStages items of one region."""
        ...

    def session_summaries(self, stage_arn: str, epoch: int) -> Sequence[dict[str, Any]]:
        """ListStageSessions items of one stage."""
        ...

    def participants(self, stage_arn: str, session_id: str, epoch: int) -> Sequence[dict[str, Any]]:
        """ListParticipants items of one session, before filters."""
        ...

    def events(
        self, stage_arn: str, session_id: str, participant_id: str, epoch: int
    ) -> Sequence[dict[str, Any]]:
        """ListParticipantEvents items of one participant."""
        ...


@dataclass(frozen=True, slots=True)
class Context:
    """What one request's handler may use, fixed when the request arrives."""

    listings: Listings
    epoch: int
    tokens: TokenCodec
    faults: Faults
    stats: Stats


@dataclass(frozen=True, slots=True)
class Encoded:
    """A response body already encoded as JSON, with the number of items it lists."""

    body: bytes
    items: int


Handler = Callable[[Context, dict[str, Any], str], "dict[str, Any] | Encoded"]
_FILTERS = ("filterByUserId", "filterByPublished", "filterByState", "filterByRecordingState")
# Schema drift: the member the model does not know that replicas get, and where their state is.
_UNKNOWN_MEMBER = b',"replicationTier":"STANDARD"}'
_REPLICATION_STATE = re.compile(rb'"replicationState":"[A-Z]+"')


def _encoded_list(key: str, rows: Sequence[bytes], next_token: str | None) -> Encoded:
    """Assemble ``{"key": [rows...], "nextToken": ...}`` from pre-encoded rows."""
    tail = b"]}" if next_token is None else b'],"nextToken":' + encode(next_token) + b"}"
    return Encoded(b'{"' + key.encode() + b'":[' + b",".join(rows) + tail, len(rows))


def _paging_fault(faults: Faults, stage_arn: str, participant_id: str) -> str | None:
    """Return the paging fault configured for a participant, if any."""
    if matches_participant(faults.cycle_participants, stage_arn, participant_id):
        return "cycle"
    if matches_participant(faults.empty_page_participants, stage_arn, participant_id):
        return "empty_page"
    if matches_participant(faults.duplicate_across_pages, stage_arn, participant_id):
        return "duplicate"
    return None


def _drifted(
    ctx: Context, stage_arn: str, participant_id: str, rows: Sequence[bytes]
) -> Sequence[bytes]:
    """Return a page's rows as a service whose answers drifted from the model would send them."""
    faults = ctx.faults
    if rows and matches_participant(faults.unknown_field_participants, stage_arn, participant_id):
        ctx.stats.fault("unknown_field")
        rows = [row[:-1] + _UNKNOWN_MEMBER for row in rows]
    if rows and matches_participant(
        faults.malformed_replica_participants, stage_arn, participant_id
    ):
        ctx.stats.fault("malformed_replica")
        rows = [_REPLICATION_STATE.sub(b'"replicationState":null', rows[0]), *rows[1:]]
    return rows


def list_participant_replicas(ctx: Context, params: dict[str, Any], region: str) -> Encoded:
    """ListParticipantReplicas: the replicas of one source participant, paged."""
    stage_arn, participant_id = params["sourceStageArn"], params["participantId"]
    scope = f"{model.LIST_PARTICIPANT_REPLICAS}|{stage_arn}|{participant_id}"
    cursor = open_cursor(ctx.tokens, scope, params, ctx.epoch)
    rows = ctx.listings.replica_rows(stage_arn, participant_id, cursor.epoch)
    fault = _paging_fault(ctx.faults, stage_arn, participant_id)
    if fault == "empty_page" and not cursor.resumed:
        ctx.stats.fault("empty_page")
        return _encoded_list("replicas", (), cursor.token(ctx.tokens, 0))
    start = cursor.offset
    if fault == "duplicate" and 0 < start <= len(rows) and cursor.limit > 1:
        ctx.stats.fault("duplicate")
        start -= 1
    chunk = rows[start : start + cursor.limit]
    end = start + len(chunk)
    next_token = cursor.token(ctx.tokens, end) if end < len(rows) else None
    if fault == "cycle":
        ctx.stats.fault("cycle")
        next_token = params.get("nextToken") or cursor.token(ctx.tokens, end)
    chunk = _drifted(ctx, stage_arn, participant_id, chunk)
    return _encoded_list("replicas", chunk, next_token)


def paged(
    ctx: Context,
    key: str,
    scope: str,
    params: dict[str, Any],
    items_at: Callable[[int], Sequence[dict[str, Any]]],
) -> dict[str, Any]:
    """Page a list computed for the cursor's epoch (used by the discovery operations)."""
    cursor = open_cursor(ctx.tokens, scope, params, ctx.epoch)
    chunk, token = page(ctx.tokens, cursor, items_at(cursor.epoch))
    body: dict[str, Any] = {key: list(chunk)}
    if token:
        body["nextToken"] = token
    return body


def list_stages(ctx: Context, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListStages: the stages of the signing region, by ARN."""
    listings, scope = ctx.listings, f"{model.LIST_STAGES}|{region}"
    return paged(ctx, "stages", scope, params, lambda e: listings.stage_summaries(region, e))


def list_stage_sessions(ctx: Context, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListStageSessions: the sessions of a stage that have started, newest first."""
    listings, arn = ctx.listings, params["stageArn"]
    scope = f"{model.LIST_STAGE_SESSIONS}|{arn}"
    return paged(ctx, "stageSessions", scope, params, lambda e: listings.session_summaries(arn, e))


def list_participants(ctx: Context, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListParticipants: the participants of a session, with at most one filter."""
    used = {name: params[name] for name in _FILTERS if params.get(name) is not None}
    if len(used) > 1:
        raise ApiError(
            VALIDATION,
            f"Only one of {', '.join(_FILTERS)} can be provided per request; got {sorted(used)}",
        )
    listings, arn, session_id = ctx.listings, params["stageArn"], params["sessionId"]
    scope = f"{model.LIST_PARTICIPANTS}|{arn}|{session_id}|{used!r}"
    field = {
        "filterByUserId": "userId",
        "filterByPublished": "published",
        "filterByState": "state",
        "filterByRecordingState": "recordingState",
    }

    def items_at(epoch: int) -> list[dict[str, Any]]:
        found = listings.participants(arn, session_id, epoch)
        return [p for p in found if all(p.get(field[k]) == v for k, v in used.items())]

    return paged(ctx, "participants", scope, params, items_at)


def list_participant_events(ctx: Context, params: dict[str, Any], region: str) -> dict[str, Any]:
    """ListParticipantEvents: one participant's events in a session, oldest first."""
    listings = ctx.listings
    arn, session_id, pid = params["stageArn"], params["sessionId"], params["participantId"]
    scope = f"{model.LIST_PARTICIPANT_EVENTS}|{arn}|{session_id}|{pid}"
    return paged(ctx, "events", scope, params, lambda e: listings.events(arn, session_id, pid, e))


HANDLERS: dict[str, Handler] = {
    model.LIST_PARTICIPANT_REPLICAS: list_participant_replicas,
    model.LIST_STAGES: list_stages,
    model.LIST_STAGE_SESSIONS: list_stage_sessions,
    model.LIST_PARTICIPANTS: list_participants,
    model.LIST_PARTICIPANT_EVENTS: list_participant_events,
}
