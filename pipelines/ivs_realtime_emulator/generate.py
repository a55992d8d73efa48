"""Deterministic synthetic scenarios whose replicas are computed on demand."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import overload

from ivs_realtime_emulator.faults import Faults
from ivs_realtime_emulator.scenario import ParticipantSpec, ReplicaSpec, Scenario

_MASK = (1 << 64) - 1


def _mix(*parts: int) -> int:
    """Hash integers into 64 bits (splitmix64 finaliser)."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & _MASK
        x ^= x >> 29
    return x


def _unit(*parts: int) -> float:
    """Return a deterministic float in [0, 1)."""
    return _mix(*parts) / float(1 << 64)


def _session_id(kind: str, number: int) -> str:
    """Return a valid 16-character session id such as ``st-S000000000042``."""
    return f"st-{kind}{number:012d}"


@functools.lru_cache(maxsize=1 << 16)
def _states(
    seed: int, participant: int, replica: int, epochs: int, rate: float
) -> tuple[str | None, ...]:
    """Walk a replica's state through the epochs; each epoch changes it with ``rate``."""
    states: list[str | None] = ["ACTIVE"]
    for epoch in range(1, epochs):
        state = states[-1]
        u = _unit(seed, participant, replica, epoch)
        if u < rate:
            if state == "ACTIVE":
                state = "STOPPED"
            elif state == "STOPPED":
                state = None if u < rate / 2 else "ACTIVE"
            else:
                state = "ACTIVE"
        states.append(state)
    return tuple(states)


class _Layout:
    """Where generated participants, stages and sessions live."""

    def __init__(
        self,
        *,
        regions: Sequence[str],
        accounts: Sequence[str],
        per_stage: int,
        epochs: int,
        change_rate: float,
        seed: int,
    ) -> None:
        self.regions, self.accounts, self.per_stage = tuple(regions), tuple(accounts), per_stage
        self.epochs, self.change_rate, self.seed = epochs, change_rate, seed

    def place(self, stage: int) -> tuple[int, int]:
        """Return (region index, account index) of a source stage."""
        r = stage % len(self.regions)
        return r, (stage // len(self.regions)) % len(self.accounts)

    def arn(self, r: int, a: int, stage_id: str) -> str:
        """Build a stage ARN."""
        return f"arn:aws:ivs:{self.regions[r]}:{self.accounts[a]}:stage/{stage_id}"

    def replica(self, participant: int, index: int) -> ReplicaSpec:
        """Build replica ``index`` of participant ``participant``."""
        stage = participant // self.per_stage
        r, a = self.place(stage)
        group = r * len(self.accounts) + a
        states: tuple[str | None, ...] = ("ACTIVE",)
        if self.change_rate > 0 and self.epochs > 1:
            states = _states(self.seed, participant, index, self.epochs, self.change_rate)
        return ReplicaSpec(
            source_session_id=_session_id("S", stage),
            destination_stage_arn=self.arn(r, a, f"dst{index:06d}"),
            destination_session_id=_session_id("D", group * 1_000_000 + index),
            states=states,
        )


class GeneratedReplicas(Sequence[ReplicaSpec]):
    """The replicas of one generated participant, built when read (nothing is stored)."""

    __slots__ = ("_count", "_layout", "_participant")

    def __init__(self, layout: _Layout, participant: int, count: int) -> None:
        self._layout, self._participant, self._count = layout, participant, count

    def __len__(self) -> int:
        """Return the number of replicas."""
        return self._count

    @overload
    def __getitem__(self, index: int) -> ReplicaSpec: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ReplicaSpec]: ...

    def __getitem__(self, index: int | slice) -> ReplicaSpec | Sequence[ReplicaSpec]:
        """Build one replica (or a list for a slice)."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._layout.replica(self._participant, index)


def generate_scenario(
    participants: int,
    replicas_per_participant: int | Sequence[int],
    regions: Sequence[str] = ("us-east-1",),
    accounts: Sequence[str] = ("123456789012",),
    epochs: int = 1,
    change_rate: float = 0.0,
    seed: int = 0,
    *,
    participants_per_stage: int = 10,
    name: str = "generated",
    faults: Faults | None = None,
) -> Scenario:
    """Build a deterministic synthetic scenario; replicas are computed lazily on access."""
    # Participant i is p-{i:06d} on stage src{i // participants_per_stage:06d}; its
    # replica j goes to stage dst{j:06d} in the same region and account.
    counts = (
        [replicas_per_participant]
        if isinstance(replicas_per_participant, int)
        else list(replicas_per_participant)
    )
    if participants < 0 or not counts or min(counts) < 0 or not regions or not accounts:
        raise ValueError("participants and replica counts must be >= 0; regions/accounts needed")
    if epochs < 1 or not 0.0 <= change_rate <= 1.0 or participants_per_stage < 1:
        raise ValueError("epochs and participants_per_stage must be >= 1, change_rate in [0, 1]")
    layout = _Layout(
        regions=regions,
        accounts=accounts,
        per_stage=participants_per_stage,
        epochs=epochs,
        change_rate=change_rate,
        seed=seed,
    )
    people = []
    for i in range(participants):
        stage = i // participants_per_stage
        r, a = layout.place(stage)
        people.append(
            ParticipantSpec(
                source_stage_arn=layout.arn(r, a, f"src{stage:06d}"),
                participant_id=f"p-{i:06d}",
                replicas=GeneratedReplicas(layout, i, counts[i % len(counts)]),
            )
        )
    return Scenario(name=name, participants=tuple(people), epochs=epochs, faults=faults or Faults())
