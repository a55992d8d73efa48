"""dlt source for Amazon IVS Real-Time participant replicas: snapshots plus a scan ledger."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import boto3
import dlt
import pyarrow as pa
from dlt.common.configuration.specs import AwsCredentials
from dlt.sources import DltResource

from ivs_replicas.errors import FatalRunError
from ivs_replicas.sources.ivs_realtime import settings
from ivs_replicas.sources.ivs_realtime.accounts import AccountSessions, parse_accounts
from ivs_replicas.sources.ivs_realtime.client import ApiClients, ClientSettings
from ivs_replicas.sources.ivs_realtime.config import check_discovery, check_settings, new_run_id
from ivs_replicas.sources.ivs_realtime.discovery import Discovered, DiscoveryScope, discover
from ivs_replicas.sources.ivs_realtime.events import fetch_events
from ivs_replicas.sources.ivs_realtime.fleet import scan_concurrently
from ivs_replicas.sources.ivs_realtime.participants import Participant, resolve_participants
from ivs_replicas.sources.ivs_realtime.scan import (
    RUN_FATAL_ERROR_CODES,
    SCAN_ERRORS,
    ScanResult,
    describe,
    scan_participant,
)
from ivs_replicas.sources.ivs_realtime.tables import replicas_table, rows_table, scans_table
from ivs_replicas.sources.ivs_realtime.tally import RunTally


@dlt.source(name="ivs_realtime", max_table_nesting=0)
def ivs_realtime(
    participants: list[dict[str, str]] | None = None,
    participants_file: str | None = None,
    credentials: AwsCredentials = dlt.secrets.value,
    endpoint_url: str | None = None,
    page_size: int = settings.DEFAULT_PAGE_SIZE,
    max_pages: int = settings.DEFAULT_MAX_PAGES,
    requests_per_second: float = settings.DEFAULT_REQUESTS_PER_SECOND,
    max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
    retry_mode: str = settings.DEFAULT_RETRY_MODE,
    connect_timeout: float = settings.DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = settings.DEFAULT_READ_TIMEOUT,
    workers_per_region: int = settings.DEFAULT_WORKERS,
    batch_rows: int = settings.DEFAULT_BATCH_ROWS,
    scan_attempts: int = settings.DEFAULT_SCAN_ATTEMPTS,
    discover_stages: bool = False,
    discovery_regions: list[str] | None = None,
    discovery_stage_arns: list[str] | None = None,
    discovery_stage_tags: dict[str, str] | None = None,
    session_lookback_hours: float = settings.DEFAULT_LOOKBACK_HOURS,
    fetch_events: bool | None = None,
    accounts: list[dict[str, str]] | None = None,
    run_id: str | None = None,
) -> Sequence[DltResource]:
    """Replica snapshots and the scan ledger of every configured or discovered participant.

    Args:
        participants: `[{source_stage_arn, participant_id}, ...]`, used when no file is given.
        participants_file: CSV (header `source_stage_arn,participant_id`) or JSON lines.
        credentials: AWS credentials; boto3's default chain when left empty.
        endpoint_url: endpoint override; `AWS_ENDPOINT_URL_IVS_REALTIME` works too.
        page_size: `maxResults` per call, 1-50.
        max_pages: pages per listing before it fails.
        requests_per_second: client-side quota per (account, region, operation); 0 is no limit.
        max_attempts: botocore attempts per call, the first included.
        retry_mode: botocore retry mode: standard or adaptive.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for a response.
        workers_per_region: concurrent scans per (account, region).
        batch_rows: replica rows gathered before an Arrow table is handed to dlt.
        scan_attempts: whole scans of a participant when retries end in a transient error.
        discover_stages: find SOURCE publishers through stages, sessions and participants.
        discovery_regions: regions whose every stage is discovered.
        discovery_stage_arns: only these stages are discovered.
        discovery_stage_tags: only stages carrying all these tags are discovered.
        session_lookback_hours: how far back the first discovery looks for ended sessions.
        fetch_events: load replication events; on by default with discovery.
        accounts: `[{account_id, role_arn, external_id, profile_name}, ...]` to reach.
        run_id: id written on every row of this run; generated when empty.
    """
    check_settings(
        page_size=page_size,
        max_pages=max_pages,
        requests_per_second=requests_per_second,
        max_attempts=max_attempts,
        retry_mode=retry_mode,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        workers_per_region=workers_per_region,
        batch_rows=batch_rows,
        scan_attempts=scan_attempts,
    )
    check_discovery(
        discover_stages, discovery_regions, discovery_stage_arns, session_lookback_hours
    )
    configured = (
        resolve_participants(participants, participants_file)
        if participants or participants_file or not discover_stages
        else []
    )
    sessions = AccountSessions(partial(boto3_session, credentials), parse_accounts(accounts))
    clients = ApiClients(
        sessions,
        ClientSettings(
            endpoint_url=endpoint_url,
            requests_per_second=requests_per_second,
            max_attempts=max_attempts,
            retry_mode=retry_mode,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(10, workers_per_region * 2),
            scan_attempts=scan_attempts,
        ),
    )
    tally = RunTally(run_id or new_run_id(), calls=clients.stats)
    scope = DiscoveryScope(
        regions=tuple(discovery_regions or ()),
        stage_arns=tuple(discovery_stage_arns or ()),
        stage_tags=dict(discovery_stage_tags or {}),
        accounts=sessions.account_ids,
        lookback=timedelta(hours=session_lookback_hours),
        max_pages=max_pages,
    )
    with_events = discover_stages if fetch_events is None else fetch_events

    @dlt.resource(name="discovery", selected=False)
    def discovery() -> Iterator[Discovered]:
        """One pass over stages, sessions and published participants (empty when off)."""
        if not discover_stages:
            yield Discovered()
            return
        state = dlt.current.resource_state().setdefault("session_watermarks", {})
        found = discover(clients.client, scope, state, tally.run_id)
        tally.discovered = len(found.sources)
        yield found

    def scan(participant: Participant, session_ids: set[str]) -> ScanResult:
        """Scan one participant (and its events) with its own account and region's client."""
        client = clients.client(participant.account_id, participant.region)
        attempt = 1
        result = scan_participant(client, participant, tally.run_id, page_size, max_pages)
        while clients.should_rescan(result.error_code, attempt):
            attempt += 1
            clients.stats.add_rescan()
            result = scan_participant(client, participant, tally.run_id, page_size, max_pages)
        if result.error_code in RUN_FATAL_ERROR_CODES:
            raise FatalRunError(f"AWS rejected the credentials: {result.error_message}")
        if with_events and result.status == settings.SCAN_OK:
            add_events(client, result, session_ids, max_pages)
        return result

    @dlt.transformer(name="replica_scans", selected=False)
    def replica_scans(found: Discovered) -> Iterator[list[ScanResult]]:
        """Scan configured and discovered participants concurrently, in batches of whole scans."""
        targets: dict[Participant, set[str]] = {participant: set() for participant in configured}
        for participant, session_ids in found.sources.items():
            targets.setdefault(participant, set()).update(session_ids)
        results = scan_concurrently(
            list(targets),
            lambda p: scan(p, targets[p]),
            workers_per_region,
            max_buffered_rows=batch_rows,
        )
        yield from scan_batches(results, tally, batch_rows)

    scans = discovery | replica_scans
    source_resources = [
        scans | participant_replicas,
        scans | participant_scans,
        scans | participant_events,
        discovery | stages,
        discovery | stage_sessions,
        discovery | discovered_participants,
    ]
    for resource in source_resources:
        resource.tally = tally  # type: ignore[attr-defined]
    return source_resources


def add_events(client: Any, result: ScanResult, session_ids: set[str], max_pages: int) -> None:
    """Attach the participant's events in its known sessions; a failure is noted, not fatal."""
    sessions = session_ids | {row.source_session_id for row in result.rows}
    try:
        result.events = fetch_events(client, result.participant, sessions, max_pages, result.run_id)
    except SCAN_ERRORS as error:
        result.events_error_code = describe(error)[0]


def scan_batches(
    results: Iterator[ScanResult], tally: RunTally, batch_rows: int
) -> Iterator[list[ScanResult]]:
    """Group finished scans into batches of about `batch_rows` replicas, whole scans only."""
    batch: list[ScanResult] = []
    rows = 0
    for result in results:
        tally.add(result)
        batch.append(result)
        rows += result.held_rows
        if rows >= batch_rows:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch


@dlt.transformer(name=settings.REPLICAS_TABLE, write_disposition="append")
def participant_replicas(batch: list[ScanResult]) -> Iterator[pa.Table]:
    """Every replica of every successful scan, one row per replica per scan."""
    yield replicas_table(batch)


@dlt.transformer(name=settings.SCANS_TABLE, write_disposition="append")
def participant_scans(batch: list[ScanResult]) -> Iterator[pa.Table]:
    """One ledger row per participant per run: ok or failed, pages, replica count."""
    yield scans_table(batch)


@dlt.transformer(name="participant_events", write_disposition="merge", primary_key="event_key")
def participant_events(batch: list[ScanResult]) -> Iterator[pa.Table]:
    """Replication and join events of scanned participants, merged on their natural key.

    Yields even when empty, so the table (which replica_timeline reads) always exists.
    """
    yield rows_table("participant_events", [event for result in batch for event in result.events])


@dlt.transformer(name="stages", write_disposition="merge", primary_key="stage_arn")
def stages(found: Discovered) -> Iterator[pa.Table]:
    """Stages seen by discovery."""
    if found.stages:
        yield rows_table("stages", found.stages)


@dlt.transformer(name="stage_sessions", write_disposition="merge", primary_key="session_key")
def stage_sessions(found: Discovered) -> Iterator[pa.Table]:
    """Stage sessions seen by discovery, with start and end times."""
    if found.sessions:
        yield rows_table("stage_sessions", found.sessions)


@dlt.transformer(name="participants", write_disposition="merge", primary_key="participant_key")
def discovered_participants(found: Discovered) -> Iterator[pa.Table]:
    """Published participants seen by discovery, with replication type and state."""
    if found.participants:
        yield rows_table("participants", found.participants)


def boto3_session(credentials: AwsCredentials | None) -> boto3.Session:
    """A boto3 session from dlt's AWS credentials, falling back to boto3's default chain."""
    if credentials is None:
        return boto3.Session()
    return boto3.Session(botocore_session=credentials._to_botocore_session())


__all__ = ["ivs_realtime", "participant_replicas", "participant_scans"]
