"""Running totals of one extraction, for the run summary; each tally is one run, with its id."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ivs_replicas.sources.ivs_realtime.client import CONNECTION_ERROR_CODES, CallStats
from ivs_replicas.sources.ivs_realtime.discovery import DiscoveryCall
from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.scan import RUN_DEADLINE_EXCEEDED, ScanResult
from ivs_replicas.sources.ivs_realtime.settings import SCAN_OK


def new_run_id() -> str:
    """A run id that sorts by start time: UTC timestamp plus a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


@dataclass
class QuotaTally:
    """One (account, region)'s share of a run: what a progress display shows per line."""

    participants: int = 0
    """Participants to scan, once the run knows them (after discovery)."""
    scanned: int = 0
    failed: int = 0
    replicas: int = 0


@dataclass
class RunTally:
    """Participants, pages and replicas seen by one run, plus its API traffic.

    The run id is generated with the tally, never read from config, so two runs cannot share
    one. Pass a tally to `ivs_realtime(tally=...)` to read it once the pipeline has run.
    """

    run_id: str = field(default_factory=new_run_id)
    calls: CallStats = field(default_factory=CallStats)
    participants_ok: int = 0
    participants_failed: int = 0
    pages: int = 0
    replicas: int = 0
    duplicates_dropped: int = 0
    discovered: int = 0
    discovery_failures: list[DiscoveryCall] = field(default_factory=list)
    """Discovery listings that failed: their stages are looked at again by the next run."""
    failures: Counter[str] = field(default_factory=Counter)
    unknown_fields: set[str] = field(default_factory=set)
    """Names of replica members the service model does not know, as the API sent them."""
    quotas: dict[tuple[str, str], QuotaTally] = field(default_factory=dict)
    """Each (account, region)'s participants, scans and replicas so far."""

    def plan(self, participants: Iterable[Participant]) -> None:
        """Note the participants about to be scanned, per (account, region)."""
        for participant in participants:
            self.quota(participant).participants += 1

    def quota(self, participant: Participant) -> QuotaTally:
        """The share of the participant's (account, region)."""
        key = (participant.account_id, participant.region)
        return self.quotas.setdefault(key, QuotaTally())

    def progress(self) -> dict[tuple[str, str], QuotaTally]:
        """A copy of every (account, region)'s share, safe to read from another thread."""
        return {key: replace(share) for key, share in list(self.quotas.items())}

    def add(self, result: ScanResult) -> None:
        """Count one finished scan."""
        share = self.quota(result.participant)
        share.scanned += 1
        self.pages += result.pages
        self.unknown_fields |= result.unknown_field_names
        if result.status == SCAN_OK:
            self.participants_ok += 1
            self.replicas += len(result.rows)
            share.replicas += len(result.rows)
            self.duplicates_dropped += result.duplicates
        else:
            self.participants_failed += 1
            share.failed += 1
            self.failures[result.error_code or "Unknown"] += 1

    @property
    def rescans(self) -> int:
        """Whole rescans of participants after transient failures."""
        return self.calls.rescans

    @property
    def page_retries(self) -> int:
        """Pages called again because their answer could not be read."""
        return self.calls.page_retries

    @property
    def unreachable(self) -> bool:
        """Whether no participant got through to the endpoint at all.

        Every scan failed without an answer (connection refused, timed out, closed), or ran
        out of time at the run's deadline after others had failed so.
        """
        codes = set(self.failures)
        return (
            self.participants_ok == 0
            and self.participants_failed > 0
            and bool(codes & CONNECTION_ERROR_CODES)
            and codes <= CONNECTION_ERROR_CODES | {RUN_DEADLINE_EXCEEDED}
        )

    @property
    def participants(self) -> int:
        """Participants scanned, ok or failed."""
        return self.participants_ok + self.participants_failed
