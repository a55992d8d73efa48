"""A plain-Python reference of the history semantics, to check the views against."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable

from .views_fixtures import Row, Scan, at, key, run_id

GONE = "GONE"


def successful_timelines(scans: Iterable[Scan]) -> dict[Row, list[tuple[int, dict[Row, str]]]]:
    """Per participant, its successful scans in time order, each with the states it saw."""
    timelines: dict[Row, dict[int, dict[Row, str]]] = defaultdict(dict)
    for scan in scans:
        participant = (scan.source_stage_arn, scan.participant_id)
        if scan.status == "ok":
            timelines[participant][scan.hour] = {
                key(
                    scan.participant_id,
                    replica.destination_stage_arn,
                    scan.source_stage_arn,
                    replica.destination_session_id,
                ): replica.replication_state
                for replica in scan.replicas
            }
    return {participant: sorted(by_hour.items()) for participant, by_hour in timelines.items()}


def replica_histories(scans: Iterable[Scan]) -> dict[Row, list[tuple[int, int | None, str]]]:
    """Per replica: (hour, previous successful scan hour, state or GONE) from its first sighting."""
    histories: dict[Row, list[tuple[int, int | None, str]]] = {}
    for timeline in successful_timelines(scans).values():
        replicas = {replica for _, seen in timeline for replica in seen}
        for replica in replicas:
            first = next(i for i, (_, seen) in enumerate(timeline) if replica in seen)
            histories[replica] = [
                (hour, timeline[i - 1][0] if i else None, seen.get(replica, GONE))
                for i, (hour, seen) in enumerate(timeline)
                if i >= first
            ]
    return histories


def expected_changes(scans: Iterable[Scan]) -> list[Row]:
    """replica_state_changes rows, by the definition."""
    rows = []
    for replica, history in replica_histories(scans).items():
        previous_state = None
        for hour, previous_hour, state in history:
            if state != previous_state:
                seen_before = None if previous_hour is None else at(previous_hour)
                first = previous_hour is None
                rows.append(
                    (*replica, at(hour), previous_state, state, seen_before, run_id(hour), first)
                )
            previous_state = state
    return rows


def state_runs(history: list[tuple[int, int | None, str]]) -> list[tuple[int, int]]:
    """(first, last) positions of each run of one state in a replica's history."""
    runs = []
    first = 0
    for i in range(1, len(history) + 1):
        if i == len(history) or history[i][2] != history[first][2]:
            runs.append((first, i - 1))
            first = i
    return runs


def expected_intervals(scans: Iterable[Scan]) -> list[Row]:
    """replica_state_intervals rows, by the definition."""
    rows = []
    for replica, history in replica_histories(scans).items():
        for first, last in state_runs(history):
            hour, previous_hour, state = history[first]
            if state == GONE:
                continue
            following = history[last + 1] if last + 1 < len(history) else None
            reason = None if following is None else "state_change"
            if following is not None and following[2] == GONE:
                reason = "disappeared"
            rows.append(
                (
                    *replica,
                    state,
                    at(hour),
                    None if previous_hour is None else at(previous_hour),
                    at(history[last][0]),
                    None if following is None else at(following[0]),
                    reason,
                    last - first + 1,
                    following is None,
                    previous_hour is not None,
                    following is None and replica[:2] in stale_participants(scans),
                )
            )
    return rows


def stale_participants(scans: Iterable[Scan]) -> set[Row]:
    """Participants without a successful scan in the last three median run intervals."""
    scans = list(scans)
    hours = sorted({scan.hour for scan in scans})
    gaps = [later - earlier for earlier, later in itertools.pairwise(hours)]
    window = 3 * statistics.median(gaps) if gaps else 24
    latest_ok: dict[Row, int] = {}
    for scan in scans:
        participant = (scan.source_stage_arn, scan.participant_id)
        latest_ok.setdefault(participant, -(10**6))
        if scan.status == "ok":
            latest_ok[participant] = max(latest_ok[participant], scan.hour)
    return {participant for participant, hour in latest_ok.items() if hour < hours[-1] - window}


def expected_current(scans: Iterable[Scan]) -> list[Row]:
    """replicas_current rows (without region and account), stale ones left out."""
    scans = list(scans)
    stale = stale_participants(scans)
    rows = []
    for replica, history in replica_histories(scans).items():
        first, _ = state_runs(history)[-1]
        state = history[-1][2]
        if state != GONE and replica[:2] not in stale:
            rows.append(
                (*replica, state, at(history[0][0]), at(history[-1][0]), at(history[first][0]))
            )
    return rows
