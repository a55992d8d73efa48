"""Scenario data: participants, their replicas and replication states per epoch."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivs_realtime_emulator.faults import Faults

if TYPE_CHECKING:
    from ivs_realtime_emulator.topology import Topology

REPLICATION_STATES = ("ACTIVE", "STOPPED")
DEFAULT_START_TIME = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_EPOCH_SECONDS = 3600
REPLICA_COLUMNS = (
    "source_stage_arn",
    "participant_id",
    "source_session_id",
    "destination_stage_arn",
    "destination_session_id",
    "replication_state",
)


class ScenarioError(ValueError):
    """A scenario file or mapping is invalid; the message names the offending field."""


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

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario-file form."""
        return {
            "source_session_id": self.source_session_id,
            "destination_stage_arn": self.destination_stage_arn,
            "destination_session_id": self.destination_session_id,
            "states": list(self.states),
        }


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

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario-file form."""
        out: dict[str, Any] = {
            "source_stage_arn": self.source_stage_arn,
            "participant_id": self.participant_id,
        }
        for name in ("user_id", "session_id"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if not self.published:
            out["published"] = False
        out["replicas"] = [replica.to_dict() for replica in self.replicas]
        return out


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """Optional timing of a stage session, in epochs (end: the epoch in which it ended)."""

    session_id: str
    start_epoch: int | None = None
    end_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario-file form."""
        out: dict[str, Any] = {"session_id": self.session_id}
        for name in ("start_epoch", "end_epoch"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True, slots=True)
class StageSpec:
    """Optional extra facts about a stage: name, tags and session timings."""

    arn: str
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    sessions: tuple[SessionSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario-file form."""
        out: dict[str, Any] = {"arn": self.arn}
        if self.name is not None:
            out["name"] = self.name
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.sessions:
            out["sessions"] = [s.to_dict() for s in self.sessions]
        return out


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
    live_clock: bool = False
    epoch_starts: dict[int, datetime] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario JSON file."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read scenario file {file}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{file}: not valid JSON: {exc}") from exc
        try:
            return cls.from_dict(data)
        except ScenarioError as exc:
            raise ScenarioError(f"{file}: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        """Build and validate a scenario from its JSON form."""
        from ivs_realtime_emulator.scenario_file import check_scenario, parse_scenario

        scenario = parse_scenario(data)
        check_scenario(scenario)
        return scenario

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (lazy replicas are materialised)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["epochs"] = self.epochs
        if self.live_clock:
            out["live_clock"] = True
        if self.start_time != DEFAULT_START_TIME:
            out["start_time"] = self.start_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if self.epoch_seconds != DEFAULT_EPOCH_SECONDS:
            out["epoch_seconds"] = self.epoch_seconds
        out["participants"] = [p.to_dict() for p in self.participants]
        if self.stages:
            out["stages"] = [s.to_dict() for s in self.stages]
        faults = self.faults.to_dict()
        if faults:
            out["faults"] = faults
        return out

    def save(self, path: str | Path) -> None:
        """Write the scenario as indented JSON."""
        Path(path).write_text(pretty_json(self.to_dict()) + "\n", encoding="utf-8")

    @functools.cached_property
    def _index(self) -> dict[tuple[str, str], ParticipantSpec]:
        """Map (stage ARN, participant id) to the participant."""
        return {p.key: p for p in self.participants}

    def participant(self, stage_arn: str, participant_id: str) -> ParticipantSpec | None:
        """Return one participant, or None if the scenario does not know it."""
        return self._index.get((stage_arn, participant_id))

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

    @functools.cached_property
    def topology(self) -> Topology:
        """Return stages, sessions and participants derived from the replicas."""
        from ivs_realtime_emulator.topology import Topology

        return Topology(self)


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


def format_time(moment: datetime) -> str:
    """Format a UTC time as ISO 8601 with a ``Z`` suffix."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


def pretty_json(value: Any, indent: int = 0, width: int = 100, lead: int = 0) -> str:
    """Format JSON readably: anything that fits on its line stays on one line."""
    flat = json.dumps(value, separators=(", ", ": "))
    if indent + lead + len(flat) <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, list):
        items = [inner + pretty_json(v, indent + 2, width) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    fields = [
        f"{inner}{json.dumps(k)}: {pretty_json(v, indent + 2, width, len(k) + 4)}"
        for k, v in value.items()
    ]
    return "{\n" + ",\n".join(fields) + f"\n{pad}}}"
