"""Stages, sessions, participants and events derived from a scenario's replicas."""

# A participant with replicas is a published SOURCE participant in each source session of
# its replicas; each replica puts a REPLICA participant with the same id into its
# destination session; participants without replicas join their session_id (or the stage's
# first session) with replication type NONE. A session starts in the first epoch one of its
# participants is present, unless the scenario says otherwise. A source session whose
# replicas have all disappeared ends in that epoch; other sessions end only when declared.

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ivs_realtime_emulator.scenario import ParticipantSpec, ReplicaSpec, Scenario, stage_region

SOURCE, REPLICA, NONE = "SOURCE", "REPLICA", "NONE"
_CACHE_SIZE = 2048


def format_time(moment: datetime) -> str:
    """Format a UTC time as the API does: ISO 8601, milliseconds, ``Z`` suffix."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


def default_session_id(stage_arn: str) -> str:
    """Return a stable session id for a stage that has no other session."""
    return "st-" + hashlib.blake2b(stage_arn.encode(), digest_size=8).hexdigest()[:13]


def first_present(replica: ReplicaSpec) -> int | None:
    """Return the first epoch in which a replica is listed, if any."""
    return next((e for e, s in enumerate(replica.states) if s is not None), None)


def end_of(replica: ReplicaSpec) -> int | None:
    """Return the epoch from which a replica is absent for good (None: it never goes)."""
    if replica.states[-1] is not None:
        return None
    present = [e for e, s in enumerate(replica.states) if s is not None]
    return present[-1] + 1 if present else 0


@dataclass
class Member:
    """One participant of one session."""

    participant_id: str
    kind: str
    published: bool
    user_id: str | None
    links: list[ReplicaSpec] = field(default_factory=list)
    source_stage_arn: str | None = None
    source_session_id: str | None = None

    @property
    def first_epoch(self) -> int | None:
        """The first epoch the participant is present (NONE members: None, see session)."""
        epochs = [e for e in map(first_present, self.links) if e is not None]
        return min(epochs) if epochs else None


@dataclass
class Session:
    """One stage session and its participants, in order of arrival in the scenario."""

    stage_arn: str
    session_id: str
    start_epoch: int | None = None
    end_epoch: int | None = None
    members: dict[str, Member] = field(default_factory=dict)

    def started(self, epoch: int) -> bool:
        """Tell whether the session has started by an epoch."""
        return (self.start_epoch or 0) <= epoch

    def ended(self, epoch: int) -> bool:
        """Tell whether the session has ended by an epoch."""
        return self.end_epoch is not None and self.end_epoch <= epoch


@dataclass
class Stage:
    """One stage: name, tags and sessions."""

    arn: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)


class Topology:
    """Everything the discovery operations list, derived once from a scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.stages: dict[str, Stage] = {}
        self._declared: set[str] = set()
        self._build()
        self.participants = functools.lru_cache(maxsize=_CACHE_SIZE)(self._participants)
        self.events = functools.lru_cache(maxsize=_CACHE_SIZE)(self._events)

    # ---- building --------------------------------------------------------------------------

    def stage(self, arn: str) -> Stage:
        """Return a stage, creating it with a name taken from its ARN."""
        found = self.stages.get(arn)
        if found is None:
            found = self.stages[arn] = Stage(arn, arn.rsplit("/", 1)[-1])
        return found

    def session(self, stage_arn: str, session_id: str) -> Session:
        """Return a session of a stage, creating it."""
        stage = self.stage(stage_arn)
        found = stage.sessions.get(session_id)
        if found is None:
            found = stage.sessions[session_id] = Session(stage_arn, session_id)
        return found

    def _build(self) -> None:
        """Declared stages first, then replicas, then participants without replicas."""
        for spec in self.scenario.stages:
            stage = self.stage(spec.arn)
            stage.name, stage.tags = spec.name or stage.name, dict(spec.tags)
            for s in spec.sessions:
                session = self.session(spec.arn, s.session_id)
                session.start_epoch, session.end_epoch = s.start_epoch, s.end_epoch
                self._declared.add(s.session_id)
        for p in self.scenario.participants:
            for r in p.replicas:
                self._add_replica(p, r)
        for p in self.scenario.participants:
            if not p.replicas:
                self._add_idle(p)
        for stage in self.stages.values():
            for session in stage.sessions.values():
                self._settle(session)

    def _add_replica(self, p: ParticipantSpec, r: ReplicaSpec) -> None:
        """Record a replica on both its source and its destination session."""
        source = self.session(p.source_stage_arn, r.source_session_id)
        member = source.members.setdefault(
            p.participant_id, Member(p.participant_id, SOURCE, True, p.user_id)
        )
        member.links.append(r)
        dest = self.session(r.destination_stage_arn, r.destination_session_id)
        copy = dest.members.setdefault(
            p.participant_id,
            Member(
                p.participant_id,
                REPLICA,
                True,
                p.user_id,
                source_stage_arn=p.source_stage_arn,
                source_session_id=r.source_session_id,
            ),
        )
        copy.links.append(r)

    def _add_idle(self, p: ParticipantSpec) -> None:
        """Put a participant without replicas into its session."""
        stage = self.stage(p.source_stage_arn)
        session_id = p.session_id or next(
            iter(stage.sessions), default_session_id(p.source_stage_arn)
        )
        session = self.session(p.source_stage_arn, session_id)
        session.members.setdefault(
            p.participant_id, Member(p.participant_id, NONE, p.published, p.user_id)
        )

    def _settle(self, session: Session) -> None:
        """Derive start and end epochs that the scenario did not declare."""
        members = list(session.members.values())
        if session.start_epoch is None:
            known = [m.first_epoch for m in members if m.kind != NONE]
            starts = [e for e in known if e is not None]
            idle = any(m.kind == NONE for m in members)
            session.start_epoch = 0 if idle or not starts else min(starts)
        if session.end_epoch is not None or session.session_id in self._declared:
            return
        if not members or any(m.kind != SOURCE for m in members):
            return
        ends = [end_of(r) for m in members for r in m.links]
        if all(e is not None for e in ends):
            session.end_epoch = max(session.start_epoch + 1, *(e or 0 for e in ends))

    # ---- reading ---------------------------------------------------------------------------

    def time(self, epoch: int, seconds: int = 0) -> str:
        """Return the wire time of an epoch (plus seconds)."""
        return format_time(self.scenario.epoch_time(epoch) + timedelta(seconds=seconds))

    def stage_summaries(self, region: str, epoch: int) -> list[dict[str, Any]]:
        """ListStages items of one region, sorted by ARN."""
        out = []
        for arn in sorted(self.stages):
            if stage_region(arn) != region:
                continue
            stage = self.stages[arn]
            item: dict[str, Any] = {"arn": arn, "name": stage.name, "tags": dict(stage.tags)}
            active = self._active_session(stage, epoch)
            if active:
                item["activeSessionId"] = active
            out.append(item)
        return out

    def _active_session(self, stage: Stage, epoch: int) -> str | None:
        """Return the most recently started session still running in an epoch."""
        live = [s for s in stage.sessions.values() if s.started(epoch) and not s.ended(epoch)]
        live.sort(key=lambda s: (s.start_epoch or 0, s.session_id))
        return live[-1].session_id if live else None

    def session_summaries(self, stage_arn: str, epoch: int) -> list[dict[str, Any]]:
        """ListStageSessions items, newest first."""
        stage = self.stages.get(stage_arn)
        if stage is None:
            return []
        started = [s for s in stage.sessions.values() if s.started(epoch)]
        started.sort(key=lambda s: (s.start_epoch or 0, s.session_id), reverse=True)
        out = []
        for s in started:
            item = {"sessionId": s.session_id, "startTime": self.time(s.start_epoch or 0)}
            if s.end_epoch is not None and s.ended(epoch):
                item["endTime"] = self.time(s.end_epoch)
            out.append(item)
        return out

    def find(self, stage_arn: str, session_id: str) -> Session | None:
        """Return a session if it exists."""
        stage = self.stages.get(stage_arn)
        return stage.sessions.get(session_id) if stage else None

    def _participants(
        self, stage_arn: str, session_id: str, epoch: int
    ) -> tuple[dict[str, Any], ...]:
        """ListParticipants items of a session in an epoch (before filters)."""
        session = self.find(stage_arn, session_id)
        if session is None or not session.started(epoch):
            return ()
        out = []
        for m in session.members.values():
            first = m.first_epoch if m.kind != NONE else session.start_epoch or 0
            if first is not None and first <= epoch:
                out.append(self._summary(session, m, first, epoch))
        return tuple(out)

    def _summary(self, session: Session, m: Member, first: int, epoch: int) -> dict[str, Any]:
        """One ParticipantSummary."""
        states = [r.state_at(epoch) for r in m.links]
        if m.kind == NONE:
            connected = not session.ended(epoch)
        elif m.kind == SOURCE:
            connected = not session.ended(epoch) and any(s is not None for s in states)
        else:
            connected = "ACTIVE" in states
        item: dict[str, Any] = {
            "participantId": m.participant_id,
            "state": "CONNECTED" if connected else "DISCONNECTED",
            "firstJoinTime": self.time(first),
            "published": m.published,
            "recordingState": "DISABLED",
            "replicationType": m.kind,
        }
        if m.user_id is not None:
            item["userId"] = m.user_id
        if m.kind != NONE:
            item["replicationState"] = "ACTIVE" if "ACTIVE" in states else "STOPPED"
        if m.kind == REPLICA:
            item["sourceStageArn"] = m.source_stage_arn
            item["sourceSessionId"] = m.source_session_id
        return item

    def _events(
        self, stage_arn: str, session_id: str, participant_id: str, epoch: int
    ) -> tuple[dict[str, Any], ...]:
        """ListParticipantEvents items of one participant up to an epoch, oldest first."""
        session = self.find(stage_arn, session_id)
        member = session.members.get(participant_id) if session else None
        if session is None or member is None:
            return ()
        if member.kind == NONE:
            found = list(self._idle_events(session, member, epoch))
        else:
            found = [e for r in member.links for e in self._replica_events(member, r, epoch)]
        found.sort(key=lambda e: e[0])
        return tuple(e[1] for e in found)

    def _idle_events(
        self, session: Session, m: Member, epoch: int
    ) -> Iterable[tuple[tuple[int, int], dict[str, Any]]]:
        """JOINED at the session start, LEFT at its end."""
        start = session.start_epoch or 0
        if start <= epoch:
            yield (start, 0), self._event("JOINED", m, start)
        end = session.end_epoch
        if end is not None and end <= epoch:
            yield (end, 0), self._event("LEFT", m, end)

    def _replica_events(
        self, m: Member, r: ReplicaSpec, epoch: int
    ) -> Iterable[tuple[tuple[int, int], dict[str, Any]]]:
        """Replication starts and stops (SOURCE) or joins and leaves (REPLICA) of one replica."""
        names = ("REPLICATION_STARTED", "REPLICATION_STOPPED")
        if m.kind == REPLICA:
            names = ("JOINED", "LEFT")
        previous: str | None = None
        for k in range(min(epoch, len(r.states) - 1) + 1):
            state = r.state_at(k)
            if state == "ACTIVE" and previous != "ACTIVE":
                yield (k, 0), self._event(names[0], m, k, r)
            elif state == "STOPPED" and previous is None:
                yield (k, 0), self._event(names[0], m, k, r)
                yield (k, 1), self._event(names[1], m, k, r, seconds=1)
            elif previous == "ACTIVE" and state != "ACTIVE":
                yield (k, 0), self._event(names[1], m, k, r)
            previous = state

    def _event(
        self, name: str, m: Member, epoch: int, r: ReplicaSpec | None = None, seconds: int = 0
    ) -> dict[str, Any]:
        """One Event."""
        item: dict[str, Any] = {
            "name": name,
            "participantId": m.participant_id,
            "eventTime": self.time(epoch, seconds),
            "replica": m.kind == REPLICA,
        }
        if r is not None and m.kind == SOURCE:
            item["destinationStageArn"] = r.destination_stage_arn
            item["destinationSessionId"] = r.destination_session_id
        return item
