"""Replication events of a scanned participant: exact start and stop times, where they exist."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ivs_replicas.sources.ivs_realtime.paging import iterate_pages
from ivs_replicas.sources.ivs_realtime.participants import Participant

EVENTS_PAGE_SIZE = 100


def fetch_events(
    client: Any, participant: Participant, session_ids: Iterable[str], max_pages: int, run_id: str
) -> list[dict[str, Any]]:
    """Every event of the participant in each of its sessions, as `participant_events` rows."""
    rows: list[dict[str, Any]] = []
    for session_id in sorted(set(session_ids)):
        pages = iterate_pages(
            client,
            "ListParticipantEvents",
            "events",
            EVENTS_PAGE_SIZE,
            max_pages,
            stageArn=participant.source_stage_arn,
            sessionId=session_id,
            participantId=participant.participant_id,
        )
        rows.extend(
            event_row(participant, session_id, event, run_id) for page in pages for event in page
        )
    return rows


def event_row(
    participant: Participant, session_id: str, event: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """One `participant_events` row, keyed by its natural key in one string column."""
    event_at = event["eventTime"]
    name = event["name"]
    destination_session = event.get("destinationSessionId")
    key_parts = (
        participant.source_stage_arn,
        session_id,
        participant.participant_id,
        event_at.isoformat(),
        name,
        event.get("remoteParticipantId") or "",
        destination_session or "",
    )
    return {
        "event_key": "|".join(key_parts),
        "stage_arn": participant.source_stage_arn,
        "session_id": session_id,
        "participant_id": participant.participant_id,
        "event_name": name,
        "event_at": event_at,
        "destination_stage_arn": event.get("destinationStageArn"),
        "destination_session_id": destination_session,
        "remote_participant_id": event.get("remoteParticipantId"),
        "error_code": event.get("errorCode"),
        "is_replica": event.get("replica"),
        "run_id": run_id,
    }
