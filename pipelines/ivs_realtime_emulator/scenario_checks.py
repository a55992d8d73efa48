"""Consistency checks of a scenario, listing every problem at once with the field it is in."""

from __future__ import annotations

from typing import Any

from ivs_realtime_emulator.scenario import (
    ParticipantSpec,
    ReplicaSpec,
    Scenario,
    ScenarioError,
    StageSpec,
    stage_region,
)
from ivs_realtime_emulator.validation import problems_for

_MAX_LISTED_PROBLEMS = 20


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
