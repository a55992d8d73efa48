"""Scenario files: the JSON form both ways, and bundled scenario names told apart from paths.

``--scenario demo`` always means the bundled scenario ``scenarios/demo.json``, whatever the
current directory holds; a file is named by a path with a slash, a name ending in ``.json``,
or an existing file that is not a bundled name.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
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
)
from ivs_realtime_emulator.scenario_checks import check_scenario

BUNDLED_DIR = Path(__file__).parent / "scenarios"
DEMO_SCENARIO_PATH = BUNDLED_DIR / "demo.json"

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


# ---- where scenarios come from ---------------------------------------------------------------


def bundled_scenarios() -> list[str]:
    """Return the names of the scenarios shipped with the emulator, e.g. ``["demo"]``."""
    return sorted(path.stem for path in BUNDLED_DIR.glob("*.json"))


def is_scenario_path(spec: str) -> bool:
    """Tell whether ``--scenario`` names a file by its form: a slash, or ending in ``.json``."""
    separators = [sep for sep in ("/", os.sep, os.altsep) if sep]
    return any(sep in spec for sep in separators) or spec.endswith(".json")


def resolve_scenario(spec: str) -> Path:
    """Return the file a ``--scenario`` value means: a bundled name first, then a path."""
    if is_scenario_path(spec):
        return Path(spec)
    names = bundled_scenarios()
    if spec in names:
        return BUNDLED_DIR / f"{spec}.json"
    if Path(spec).is_file():
        return Path(spec)
    raise ScenarioError(
        f"no bundled scenario named {spec!r}; bundled: {', '.join(names)}. "
        f"To load a file, give its path, e.g. ./{spec}.json"
    )


def open_scenario(spec: str) -> Scenario:
    """Load the scenario a ``--scenario`` value means (see ``resolve_scenario``)."""
    return load_scenario(resolve_scenario(spec))


def load_demo_scenario() -> Scenario:
    """Load the bundled demo scenario."""
    return load_scenario(DEMO_SCENARIO_PATH)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario JSON file; errors start with the file name."""
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
        return parse_scenario(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{file}: {exc}") from exc


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write a scenario as indented JSON (lazy replicas are materialised)."""
    Path(path).write_text(pretty_json(scenario_to_dict(scenario)) + "\n", encoding="utf-8")


def parse_scenario(data: Any) -> Scenario:
    """Build a scenario from its JSON form; raise ScenarioError naming every bad field."""
    scenario = _scenario(data)
    check_scenario(scenario)
    return scenario


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


def _scenario(data: Any) -> Scenario:
    """Turn the JSON form into a Scenario (shapes and types only)."""
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


# ---- writing: the JSON form of a scenario ----------------------------------------------------


def _replica_dict(r: ReplicaSpec) -> dict[str, Any]:
    """Return the file form of a replica."""
    return {
        "source_session_id": r.source_session_id,
        "destination_stage_arn": r.destination_stage_arn,
        "destination_session_id": r.destination_session_id,
        "states": list(r.states),
    }


def _participant_dict(p: ParticipantSpec) -> dict[str, Any]:
    """Return the file form of a participant, leaving out defaults."""
    out: dict[str, Any] = {
        "source_stage_arn": p.source_stage_arn,
        "participant_id": p.participant_id,
    }
    if p.user_id is not None:
        out["user_id"] = p.user_id
    if p.session_id is not None:
        out["session_id"] = p.session_id
    if not p.published:
        out["published"] = False
    out["replicas"] = [_replica_dict(r) for r in p.replicas]
    return out


def _session_dict(s: SessionSpec) -> dict[str, Any]:
    """Return the file form of a session timing."""
    out: dict[str, Any] = {"session_id": s.session_id}
    if s.start_epoch is not None:
        out["start_epoch"] = s.start_epoch
    if s.end_epoch is not None:
        out["end_epoch"] = s.end_epoch
    return out


def _stage_dict(s: StageSpec) -> dict[str, Any]:
    """Return the file form of a stage's extra facts."""
    out: dict[str, Any] = {"arn": s.arn}
    if s.name is not None:
        out["name"] = s.name
    if s.tags:
        out["tags"] = dict(s.tags)
    if s.sessions:
        out["sessions"] = [_session_dict(x) for x in s.sessions]
    return out


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """Return the JSON form of a scenario, leaving out defaults (lazy replicas materialised)."""
    out: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        out["description"] = scenario.description
    out["epochs"] = scenario.epochs
    if scenario.live_clock:
        out["live_clock"] = True
    if scenario.start_time != DEFAULT_START_TIME:
        out["start_time"] = scenario.start_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if scenario.epoch_seconds != DEFAULT_EPOCH_SECONDS:
        out["epoch_seconds"] = scenario.epoch_seconds
    out["participants"] = [_participant_dict(p) for p in scenario.participants]
    if scenario.stages:
        out["stages"] = [_stage_dict(s) for s in scenario.stages]
    faults = scenario.faults.to_dict()
    if faults:
        out["faults"] = faults
    return out


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
