"""Scenario data: participants, their replicas and replication states per epoch.

Plain data only: reading and writing scenario files is ``scenario_file``'s job, and what
the operations list is derived in ``topology`` and ``listings``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ivs_realtime_emulator.faults import Faults

REPLICATION_STATES = ("ACTIVE", "STOPPED")
DEFAULT_START_TIME = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_EPOCH_SECONDS = 3600


class ScenarioError(ValueError):
    """A scenario file, mapping or name is invalid; the message names the offending field."""


def stage_region(stage_arn: str) -> str:
    """Return the region of a stage ARN (``arn:aws:ivs:REGION:ACCOUNT:stage/ID``)."""
    parts = stage_arn.split(":", 5)
    return parts[3] if len(parts) == 6 else ""


@dataclass(frozen=True, slots=True)
class ReplicaSpec:
    """One replica of a participant; ``states[i]`` is its state in epoch i (None: absent)."""

    source_session_id: str
    destination_stage_arn: str
    destination_session_id: str
    states: tuple[str | None, ...] = ("ACTIVE",)

    def state_at(self, epoch: int) -> str | None:
        """Return the replication state in an epoch; later epochs keep the last value."""
        states = self.states
        return states[epoch] if epoch < len(states) else states[-1]


@dataclass(frozen=True, slots=True)
class ParticipantSpec:
    """A source participant to scan, with its replicas (possibly computed lazily)."""

    source_stage_arn: str
    participant_id: str
    replicas: Sequence[ReplicaSpec] = ()
    user_id: str | None = None
    published: bool = True
    session_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Return (source_stage_arn, participant_id)."""
        return (self.source_stage_arn, self.participant_id)


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """Optional timing of a stage session, in epochs (end: the epoch in which it ended)."""

    session_id: str
    start_epoch: int | None = None
    end_epoch: int | None = None


@dataclass(frozen=True, slots=True)
class StageSpec:
    """Optional extra facts about a stage: name, tags and session timings."""

    arn: str
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    sessions: tuple[SessionSpec, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """Everything the emulator serves: participants, replicas per epoch, stages and faults."""

    name: str
    participants: Sequence[ParticipantSpec]
    epochs: int = 1
    faults: Faults = field(default_factory=Faults)
    stages: tuple[StageSpec, ...] = ()
    start_time: datetime = DEFAULT_START_TIME
    epoch_seconds: int = DEFAULT_EPOCH_SECONDS
    description: str = ""
    # Live clock: each epoch starts when the emulator enters it, so that event and session
    # times fall between the scans of a real run. Otherwise start_time + epoch * epoch_seconds.
    # The entered times are kept here, where tests read them back with ``epoch_time``.
    live_clock: bool = False
    epoch_starts: dict[int, datetime] = field(default_factory=dict, compare=False, repr=False)

    def participant_refs(self) -> list[dict[str, str]]:
        """Return ``source_stage_arn`` and ``participant_id`` of every participant."""
        return [
            {"source_stage_arn": p.source_stage_arn, "participant_id": p.participant_id}
            for p in self.participants
        ]

    def expected_replicas(self, epoch: int) -> list[dict[str, str]]:
        """Return the ground-truth replica rows (snake_case) present in an epoch."""
        rows = []
        for p in self.participants:
            for r in p.replicas:
                state = r.state_at(epoch)
                if state is not None:
                    rows.append(replica_row(p, r, state))
        return rows

    def replica_count(self) -> int:
        """Return the number of replicas over all participants and epochs."""
        return sum(len(p.replicas) for p in self.participants)

    def epoch_time(self, epoch: int) -> datetime:
        """Return the UTC wall-clock time at which an epoch begins."""
        entered = [e for e in self.epoch_starts if e <= epoch] if self.live_clock else []
        if entered:
            known = max(entered)
            return self.epoch_starts[known] + timedelta(
                seconds=self.epoch_seconds * (epoch - known)
            )
        return self.start_time + timedelta(seconds=self.epoch_seconds * epoch)

    def enter_epoch(self, epoch: int) -> None:
        """Record when a live-clock scenario entered an epoch, to the next millisecond."""
        if self.live_clock and epoch not in self.epoch_starts:
            now = datetime.now(UTC)
            whole_ms = now - timedelta(microseconds=now.microsecond % 1000)
            self.epoch_starts[epoch] = whole_ms + timedelta(milliseconds=1)


def replica_row(p: ParticipantSpec, r: ReplicaSpec, state: str) -> dict[str, str]:
    """Return one snake_case replica row."""
    return {
        "source_stage_arn": p.source_stage_arn,
        "participant_id": p.participant_id,
        "source_session_id": r.source_session_id,
        "destination_stage_arn": r.destination_stage_arn,
        "destination_session_id": r.destination_session_id,
        "replication_state": state,
    }
