"""What the served operations list for one scenario, in any epoch, computed once and cached."""

from __future__ import annotations

import functools
import threading
from typing import Any

from ivs_realtime_emulator.scenario import ParticipantSpec, Scenario
from ivs_realtime_emulator.topology import Topology

_ROW_CACHE_SIZE = 256


class ScenarioListings:
    """Replica rows, stages, sessions, participants and events of a scenario; thread-safe."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        # Built before the server's threads start; the topology waits for its first use,
        # since a generated scenario of a million replicas may never be asked for it.
        self._participants: dict[tuple[str, str], ParticipantSpec] = {
            p.key: p for p in scenario.participants
        }
        self._topology: Topology | None = None
        self._lock = threading.Lock()
        self.replica_rows = functools.lru_cache(maxsize=_ROW_CACHE_SIZE)(self._replica_rows)

    @property
    def topology(self) -> Topology:
        """Stages, sessions and participants derived from the replicas, built on first use."""
        found = self._topology
        if found is None:
            with self._lock:
                if self._topology is None:
                    self._topology = Topology(self.scenario)
                found = self._topology
        return found

    def _replica_rows(self, stage_arn: str, participant_id: str, epoch: int) -> tuple[bytes, ...]:
        """Return the JSON-encoded replicas of one participant in one epoch."""
        p = self._participants.get((stage_arn, participant_id))
        if p is None:
            return ()
        # Every value matches a model pattern without quotes or escapes, so plain
        # formatting yields valid JSON and is much faster than the json module.
        head = f'{{"sourceStageArn":"{stage_arn}","participantId":"{participant_id}",'
        rows = []
        for r in p.replicas:
            state = r.state_at(epoch)
            if state is not None:
                rows.append(
                    f'{head}"sourceSessionId":"{r.source_session_id}",'
                    f'"destinationStageArn":"{r.destination_stage_arn}",'
                    f'"destinationSessionId":"{r.destination_session_id}",'
                    f'"replicationState":"{state}"}}'.encode()
                )
        return tuple(rows)

    def stage_summaries(self, region: str, epoch: int) -> list[dict[str, Any]]:
        """ListStages items of one region, sorted by ARN."""
        return self.topology.stage_summaries(region, epoch)

    def session_summaries(self, stage_arn: str, epoch: int) -> list[dict[str, Any]]:
        """ListStageSessions items of one stage, newest first."""
        return self.topology.session_summaries(stage_arn, epoch)

    def participants(
        self, stage_arn: str, session_id: str, epoch: int
    ) -> tuple[dict[str, Any], ...]:
        """ListParticipants items of one session (before filters)."""
        return self.topology.participants(stage_arn, session_id, epoch)

    def events(
        self, stage_arn: str, session_id: str, participant_id: str, epoch: int
    ) -> tuple[dict[str, Any], ...]:
        """ListParticipantEvents items of one participant, oldest first."""
        return self.topology.events(stage_arn, session_id, participant_id, epoch)
