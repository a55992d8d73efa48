"""Parsing and consistency checks of scenario files, with errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ivs_realtime_emulator.faults import Faults, FaultsError
from ivs_realtime_emulator.scenario import (
    DEFAULT_EPOCH_SECONDS,
    DEFAULT_START_TIME,
    REPLICATION_STATES,
    ParticipantSpec,
    ReplicaSpec,
    Scenario,
    ScenarioError,
    SessionSpec,
    StageSpec,
    stage_region,
)
from ivs_realtime_emulator.validation import problems_for

_SCENARIO_KEYS = (
    "name",
    "description",
    "epochs",
    "start_time",
    "epoch_seconds",
    "live_clock",
    "participants",
    "stages",
    "faults",
)
_PARTICIPANT_KEYS = (
    "source_stage_arn",
    "participant_id",
    "replicas",
    "user_id",
    "published",
    "session_id",
)
_REPLICA_KEYS = ("source_session_id", "destination_stage_arn", "destination_session_id", "states")
_STAGE_KEYS = ("arn", "name", "tags", "sessions")
_SESSION_KEYS = ("session_id", "start_epoch", "end_epoch")
_MAX_LISTED_PROBLEMS = 20


# ---- parsing: JSON shapes and types ---------------------------------------------------------


def _object(data: Any, where: str, keys: tuple[str, ...], required: tuple[str, ...]) -> dict:
    """Check an object's type, unknown keys and required keys."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected an object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {unknown}; allowed: {list(keys)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ScenarioError(f"{where}: missing required field(s) {missing}")
    return data


def _typed(value: Any, kind: type, where: str) -> Any:
    """Check a JSON value's type (booleans are not integers)."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ScenarioError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _int(value: Any, where: str, minimum: int) -> int:
    """Check an integer with a lower bound."""
    number = _typed(value, int, where)
    if number < minimum:
        raise ScenarioError(f"{where}: must be >= {minimum}, got {number}")
    return int(number)


def _optional(data: dict, key: str, kind: type, where: str) -> Any:
    """Return an optional typed field."""
    value = data.get(key)
    return None if value is None else _typed(value, kind, f"{where}.{key}")


def _list(value: Any, where: str) -> list:
    """Check a JSON array."""
    return list(_typed(value, list, where))


def _time(value: Any, where: str) -> datetime:
    """Parse an ISO 8601 time with a timezone, as UTC."""
    try:
        moment = datetime.fromisoformat(_typed(value, str, where))
    except ValueError as exc:
        raise ScenarioError(f"{where}: not an ISO 8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise ScenarioError(f"{where}: time must carry a timezone, e.g. 2026-01-01T00:00:00Z")
    return moment.astimezone(UTC)


def _states(value: Any, where: str) -> tuple[str | None, ...]:
    """Parse a replica's per-epoch states."""
    states = _list(value, where)
    if not states:
        raise ScenarioError(f"{where}: needs at least one state")
    for i, state in enumerate(states):
        if state is not None and state not in REPLICATION_STATES:
            raise ScenarioError(
                f"{where}[{i}]: state must be one of {list(REPLICATION_STATES)} or null, "
                f"got {state!r}"
            )
    return tuple(states)


def _replica(data: Any, where: str) -> ReplicaSpec:
    """Parse one replica."""
    required = _REPLICA_KEYS[:3]
    obj = _object(data, where, _REPLICA_KEYS, required)
    ids = [_typed(obj[k], str, f"{where}.{k}") for k in required]
    states = _states(obj.get("states", ["ACTIVE"]), f"{where}.states")
    return ReplicaSpec(ids[0], ids[1], ids[2], states)


def _participant(data: Any, where: str) -> ParticipantSpec:
    """Parse one participant and its replicas."""
    obj = _object(data, where, _PARTICIPANT_KEYS, ("source_stage_arn", "participant_id"))
    replicas = _list(obj.get("replicas", []), f"{where}.replicas")
    published = obj.get("published", True)
    return ParticipantSpec(
        source_stage_arn=_typed(obj["source_stage_arn"], str, f"{where}.source_stage_arn"),
        participant_id=_typed(obj["participant_id"], str, f"{where}.participant_id"),
        replicas=tuple(_replica(r, f"{where}.replicas[{i}]") for i, r in enumerate(replicas)),
        user_id=_optional(obj, "user_id", str, where),
        published=_typed(published, bool, f"{where}.published"),
        session_id=_optional(obj, "session_id", str, where),
    )


def _session(data: Any, where: str) -> SessionSpec:
    """Parse one session timing."""
    obj = _object(data, where, _SESSION_KEYS, ("session_id",))
    start, end = obj.get("start_epoch"), obj.get("end_epoch")
    return SessionSpec(
        session_id=_typed(obj["session_id"], str, f"{where}.session_id"),
        start_epoch=None if start is None else _int(start, f"{where}.start_epoch", 0),
        end_epoch=None if end is None else _int(end, f"{where}.end_epoch", 0),
    )


def _stage(data: Any, where: str) -> StageSpec:
    """Parse one stage's extra facts."""
    obj = _object(data, where, _STAGE_KEYS, ("arn",))
    tags = _typed(obj.get("tags", {}), dict, f"{where}.tags")
    for key, value in tags.items():
        _typed(value, str, f"{where}.tags.{key}")
    sessions = _list(obj.get("sessions", []), f"{where}.sessions")
    return StageSpec(
        arn=_typed(obj["arn"], str, f"{where}.arn"),
        name=_optional(obj, "name", str, where),
        tags=dict(tags),
        sessions=tuple(_session(s, f"{where}.sessions[{i}]") for i, s in enumerate(sessions)),
    )


def parse_scenario(data: Any) -> Scenario:
    """Turn the JSON form into a Scenario (types only; see ``check_scenario``)."""
    obj = _object(data, "scenario", _SCENARIO_KEYS, ("name", "participants"))
    participants = _list(obj["participants"], "participants")
    stages = _list(obj.get("stages", []), "stages")
    try:
        faults = Faults.from_dict(obj.get("faults") or {})
    except FaultsError as exc:
        raise ScenarioError(str(exc)) from exc
    start = obj.get("start_time")
    return Scenario(
        name=_typed(obj["name"], str, "name"),
        description=_typed(obj.get("description", ""), str, "description"),
        epochs=_int(obj.get("epochs", 1), "epochs", 1),
        start_time=DEFAULT_START_TIME if start is None else _time(start, "start_time"),
        epoch_seconds=_int(obj.get("epoch_seconds", DEFAULT_EPOCH_SECONDS), "epoch_seconds", 1),
        live_clock=_typed(obj.get("live_clock", False), bool, "live_clock"),
        participants=tuple(
            _participant(p, f"participants[{i}]") for i, p in enumerate(participants)
        ),
        stages=tuple(_stage(s, f"stages[{i}]") for i, s in enumerate(stages)),
        faults=faults,
    )


# ---- consistency checks ---------------------------------------------------------------------


def _shape(shape_name: str, value: Any, where: str) -> list[str]:
    """Validate a value against a service model shape, phrased for scenario authors."""
    found = problems_for(shape_name, value, where)
    return [f"{where}: {p.split('constraint: ')[-1]} (got {value!r})" for p in found]


class _Checker:
    """Collects every problem of a parsed scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.problems: list[str] = []
        self.session_stage: dict[str, str] = {}
        self.ends: dict[str, int] = {}

    def add(self, problems: list[str]) -> None:
        """Record problems."""
        self.problems.extend(problems)

    def claim_session(self, session_id: str, stage_arn: str, where: str) -> None:
        """Record which stage a session belongs to; a session id lives on one stage only."""
        owner = self.session_stage.setdefault(session_id, stage_arn)
        if owner != stage_arn:
            self.add([f"{where}: session {session_id} is already used on stage {owner}"])

    def run(self) -> None:
        """Run every check."""
        for i, stage in enumerate(self.scenario.stages):
            self.check_stage(stage, f"stages[{i}]")
        seen: dict[tuple[str, str], str] = {}
        landed: dict[tuple[str, str, str], str] = {}
        for i, p in enumerate(self.scenario.participants):
            where = f"participants[{i}]"
            if p.key in seen:
                self.add([f"{where}: duplicate of {seen[p.key]} ({p.participant_id} on the stage)"])
            seen.setdefault(p.key, where)
            self.check_participant(p, where, landed)
        self.check_collisions(landed)

    def check_stage(self, stage: StageSpec, where: str) -> None:
        """Check a stage's ARN and its declared sessions."""
        self.add(_shape("StageArn", stage.arn, f"{where}.arn"))
        if stage.name is not None:
            self.add(_shape("StageName", stage.name, f"{where}.name"))
        for j, session in enumerate(stage.sessions):
            here = f"{where}.sessions[{j}]"
            self.add(_shape("StageSessionId", session.session_id, f"{here}.session_id"))
            self.claim_session(session.session_id, stage.arn, here)
            start, end = session.start_epoch or 0, session.end_epoch
            if end is not None:
                self.ends[session.session_id] = end
                if end <= start:
                    self.add([f"{here}: end_epoch {end} must be after start_epoch {start}"])

    def check_participant(
        self, p: ParticipantSpec, where: str, landed: dict[tuple[str, str, str], str]
    ) -> None:
        """Check a participant's identifiers and each of its replicas."""
        self.add(_shape("StageArn", p.source_stage_arn, f"{where}.source_stage_arn"))
        self.add(_shape("ParticipantId", p.participant_id, f"{where}.participant_id"))
        if p.user_id is not None:
            self.add(_shape("UserId", p.user_id, f"{where}.user_id"))
        if p.session_id is not None:
            self.add(_shape("StageSessionId", p.session_id, f"{where}.session_id"))
            self.claim_session(p.session_id, p.source_stage_arn, f"{where}.session_id")
        keys: set[tuple[str, str, str]] = set()
        for j, r in enumerate(p.replicas):
            here = f"{where}.replicas[{j}]"
            key = (r.source_session_id, r.destination_stage_arn, r.destination_session_id)
            if key in keys:
                self.add([f"{here}: duplicate replica {key}"])
            keys.add(key)
            self.check_replica(p, r, here)
            self.check_landing(p, r, here, landed)

    def check_replica(self, p: ParticipantSpec, r: ReplicaSpec, where: str) -> None:
        """Check one replica's identifiers, region, states and session timing."""
        self.add(_shape("StageSessionId", r.source_session_id, f"{where}.source_session_id"))
        self.add(_shape("StageArn", r.destination_stage_arn, f"{where}.destination_stage_arn"))
        self.add(
            _shape("StageSessionId", r.destination_session_id, f"{where}.destination_session_id")
        )
        if r.destination_stage_arn == p.source_stage_arn:
            self.add([f"{where}: destination stage is the source stage"])
        src, dst = stage_region(p.source_stage_arn), stage_region(r.destination_stage_arn)
        if src != dst:
            self.add([f"{where}: destination region {dst} differs from source region {src}"])
        if len(r.states) > self.scenario.epochs:
            self.add([f"{where}.states: {len(r.states)} states for {self.scenario.epochs} epochs"])
        self.claim_session(r.source_session_id, p.source_stage_arn, f"{where}.source_session_id")
        self.claim_session(
            r.destination_session_id, r.destination_stage_arn, f"{where}.destination_session_id"
        )
        for session_id in (r.source_session_id, r.destination_session_id):
            self.check_ended(r, session_id, where)

    def check_ended(self, r: ReplicaSpec, session_id: str, where: str) -> None:
        """An ACTIVE replica cannot outlive a session declared as ended."""
        end = self.ends.get(session_id)
        if end is None:
            return
        last = max(end + 1, self.scenario.epochs)
        if any(r.state_at(e) == "ACTIVE" for e in range(end, last)):
            self.add([f"{where}: ACTIVE at or after epoch {end}, when session {session_id} ended"])

    def check_landing(
        self,
        p: ParticipantSpec,
        r: ReplicaSpec,
        where: str,
        landed: dict[tuple[str, str, str], str],
    ) -> None:
        """Two sources cannot land the same participant id in one destination session."""
        key = (r.destination_stage_arn, r.destination_session_id, p.participant_id)
        first = landed.setdefault(key, where)
        if first != where and not first.startswith(where.rsplit(".", 1)[0] + "."):
            text = f"participant id {p.participant_id} already lands in {key[1]} from {first}"
            self.add([f"{where}: {text}"])

    def check_collisions(self, landed: dict[tuple[str, str, str], str]) -> None:
        """A replica cannot land in a session where a source participant has the same id."""
        for p in self.scenario.participants:
            for r in p.replicas:
                key = (p.source_stage_arn, r.source_session_id, p.participant_id)
                if key in landed:
                    text = f"lands as {key[2]} in {key[1]}, where {key[2]} is a source participant"
                    self.add([f"{landed[key]}: {text}"])


def check_scenario(scenario: Scenario) -> None:
    """Raise ScenarioError listing every consistency problem of a scenario."""
    checker = _Checker(scenario)
    checker.run()
    _raise(checker.problems)


def _raise(problems: list[str]) -> None:
    """Raise one ScenarioError for a list of problems, if any."""
    if not problems:
        return
    shown = problems[:_MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more else ""
    lines = "".join(f"\n  - {p}" for p in shown)
    raise ScenarioError(f"invalid scenario ({len(problems)} problem(s)):{lines}{tail}")
