"""dlt source for Amazon IVS Real-Time participant replicas: snapshots plus a scan ledger."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import boto3
import dlt
import pyarrow as pa
from dlt.common.configuration.specs import AwsCredentials
from dlt.common.schema.typing import C_DLT_LOAD_ID
from dlt.sources import DltResource

from ivs_replicas.sources.ivs_realtime.accounts import AccountSessions, parse_accounts
from ivs_replicas.sources.ivs_realtime.client import ApiClients
from ivs_replicas.sources.ivs_realtime.config import (
    IvsRealtimeConfiguration,
    with_settings_signature,
)
from ivs_replicas.sources.ivs_realtime.discovery import Discovered, DiscoveryScope, discover
from ivs_replicas.sources.ivs_realtime.events import fetch_events
from ivs_replicas.sources.ivs_realtime.exceptions import CredentialsRejected, InvalidSourceInput
from ivs_replicas.sources.ivs_realtime.fleet import Deadline, scan_concurrently
from ivs_replicas.sources.ivs_realtime.participants import Participant, resolve_participants
from ivs_replicas.sources.ivs_realtime.scan import (
    RUN_DEADLINE_EXCEEDED,
    RUN_FATAL_ERROR_CODES,
    SCAN_ERRORS,
    ScanResult,
    describe,
    scan_participant,
    unfinished,
)
from ivs_replicas.sources.ivs_realtime.settings import (
    DISCOVERY_SCANS_TABLE,
    REPLICAS_TABLE,
    SCAN_OK,
    SCANS_TABLE,
    SOURCE_NAME,
)
from ivs_replicas.sources.ivs_realtime.tables import replicas_table, rows_table, scans_table
from ivs_replicas.sources.ivs_realtime.tally import RunTally


@dlt.source(name=SOURCE_NAME, max_table_nesting=0, spec=IvsRealtimeConfiguration)
@with_settings_signature
def ivs_realtime(
    config: IvsRealtimeConfiguration = dlt.config.value,
    tally: RunTally | None = None,
    **settings: Any,
) -> Sequence[DltResource]:
    """Replica snapshots and the scan ledger of every configured or discovered participant.

    Settings come from `[sources.ivs_realtime]` or `SOURCES__IVS_REALTIME__*`; any of them
    passed as a keyword (`ivs_realtime(page_size=25)`) wins. Every table carries dlt's
    `_dlt_load_id`, so readers can keep to rows of completed loads.

    Args:
        config: the resolved settings; dlt injects it from the keywords, config and env.
        tally: this run's id and totals, to read once the pipeline ran; a new run if omitted.
        **settings: the fields of IvsRealtimeConfiguration, one keyword each.
    """
    tally = RunTally() if tally is None else tally
    # The run's deadline counts from here, the start of the run, through discovery and scans.
    deadline = Deadline.after(config.max_run_seconds)
    deadline_reason = (
        f"not scanned in time: the run's deadline (max_run_seconds = {config.max_run_seconds:g}) "
        "passed before this participant's scan finished"
    )
    configured = (
        resolve_participants(config.participants, config.participants_file)
        if config.participants or config.participants_file or not config.discover_stages
        else []
    )
    sessions = AccountSessions(
        partial(boto3_session, config.credentials), parse_accounts(config.accounts)
    )
    clients = ApiClients(sessions, config, tally.calls)
    scope = DiscoveryScope.from_config(config, sessions.account_ids)

    def try_again(error_code: str | None, attempt: int) -> bool:
        """Whether a scan or discovery listing that failed gets another whole attempt."""
        return clients.should_rescan(error_code, attempt) and not deadline.passed

    @dlt.resource(name="discovery", selected=False)
    def discovery() -> Iterator[Discovered]:
        """One pass over stages, sessions and published participants (empty when off)."""
        if not config.discover_stages:
            yield Discovered()
            return
        state = dlt.current.resource_state().setdefault("session_watermarks", {})
        found = discover(
            clients.client,
            scope,
            state,
            tally.run_id,
            retry=try_again,
            on_page_retry=clients.stats.add_page_retry,
        )
        tally.discovered = len(found.sources)
        tally.discovery_failures = found.failed_calls
        yield found

    def scan(participant: Participant, session_ids: set[str]) -> ScanResult:
        """Scan one participant (and its events) with its own account and region's client."""
        client = clients.client(participant.account_id, participant.region)
        scan_once = partial(
            scan_participant,
            client,
            participant,
            tally.run_id,
            config.page_size,
            config.max_pages,
            on_page_retry=clients.stats.add_page_retry,
        )
        attempt = 1
        result = scan_once()
        while try_again(result.error_code, attempt):
            attempt += 1
            clients.stats.add_rescan()
            result = scan_once()
        if result.error_code in RUN_FATAL_ERROR_CODES:
            raise CredentialsRejected(f"AWS rejected the credentials: {result.error_message}")
        if config.events_enabled and result.status == SCAN_OK:
            if deadline.passed:
                result.events_error_code = RUN_DEADLINE_EXCEEDED
            else:
                add_events(client, result, session_ids, config.max_pages)
        return result

    @dlt.transformer(name="replica_scans", selected=False)
    def replica_scans(found: Discovered) -> Iterator[list[ScanResult]]:
        """Scan configured and discovered participants concurrently, in batches of whole scans."""
        targets: dict[Participant, set[str]] = {participant: set() for participant in configured}
        for participant, session_ids in found.sources.items():
            targets.setdefault(participant, set()).update(session_ids)
        tally.plan(targets)
        results = scan_concurrently(
            list(targets),
            lambda p: scan(p, targets[p]),
            config.workers_per_region,
            max_buffered_rows=config.batch_rows,
            deadline=deadline,
            unfinished=lambda p: unfinished(p, tally.run_id, deadline_reason),
        )
        yield from scan_batches(results, tally, config.batch_rows)

    scans = discovery | replica_scans
    return [
        scans | participant_replicas,
        scans | participant_scans,
        scans | participant_events,
        discovery | stages,
        discovery | stage_sessions,
        discovery | discovered_participants,
        discovery | discovery_scans,
    ]


def with_load_id(table: pa.Table) -> pa.Table:
    """The table with dlt's `_dlt_load_id`: the id of the load package it goes into.

    Views join it to `_dlt_loads` to hide rows of unfinished loads. dlt adds it to Arrow
    tables only under a global setting (`normalize.parquet_normalizer.add_dlt_load_id`), which
    would change every other pipeline of the process; so the source adds it itself.
    """
    load_id = dlt.current.load_package_state()["load_id"]
    return table.append_column(
        pa.field(C_DLT_LOAD_ID, pa.string(), nullable=False),
        pa.repeat(load_id, table.num_rows),
    )


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


@dlt.transformer(name=REPLICAS_TABLE, write_disposition="append", file_format="parquet")
def participant_replicas(batch: list[ScanResult]) -> Iterator[pa.Table]:
    """Every replica of every successful scan, one row per replica per scan."""
    yield with_load_id(replicas_table(batch))


@dlt.transformer(name=SCANS_TABLE, write_disposition="append", file_format="parquet")
def participant_scans(batch: list[ScanResult]) -> Iterator[pa.Table]:
    """One ledger row per participant per run: ok or failed, pages, replica count."""
    yield with_load_id(scans_table(batch))


@dlt.transformer(
    name="participant_events",
    write_disposition="merge",
    primary_key="event_key",
    file_format="parquet",
)
def participant_events(batch: list[ScanResult]) -> Iterator[pa.Table]:
    """Replication and join events of scanned participants, merged on their natural key.

    Yields even when empty, so the table (which replica_timeline reads) always exists.
    """
    events = [event for result in batch for event in result.events]
    yield with_load_id(rows_table("participant_events", events))


@dlt.transformer(
    name="stages", write_disposition="merge", primary_key="stage_arn", file_format="parquet"
)
def stages(found: Discovered) -> Iterator[pa.Table]:
    """Stages seen by discovery."""
    if found.stages:
        yield with_load_id(rows_table("stages", found.stages))


@dlt.transformer(
    name="stage_sessions",
    write_disposition="merge",
    primary_key="session_key",
    file_format="parquet",
)
def stage_sessions(found: Discovered) -> Iterator[pa.Table]:
    """Stage sessions seen by discovery, with start and end times."""
    if found.sessions:
        yield with_load_id(rows_table("stage_sessions", found.sessions))


@dlt.transformer(
    name="participants",
    write_disposition="merge",
    primary_key="participant_key",
    file_format="parquet",
)
def discovered_participants(found: Discovered) -> Iterator[pa.Table]:
    """Published participants seen by discovery, with replication type and state."""
    if found.participants:
        yield with_load_id(rows_table("participants", found.participants))


@dlt.transformer(name=DISCOVERY_SCANS_TABLE, write_disposition="append", file_format="parquet")
def discovery_scans(found: Discovered) -> Iterator[pa.Table]:
    """The discovery ledger: one row per listing of stages, sessions or participants."""
    if found.calls:
        yield with_load_id(rows_table(DISCOVERY_SCANS_TABLE, [c.ledger_row() for c in found.calls]))


def boto3_session(credentials: AwsCredentials | None) -> boto3.Session:
    """A boto3 session from dlt's AWS credentials, falling back to boto3's default chain."""
    if credentials is None:
        return boto3.Session()
    return boto3.Session(botocore_session=credentials._to_botocore_session())


__all__ = [
    "CredentialsRejected",
    "InvalidSourceInput",
    "IvsRealtimeConfiguration",
    "RunTally",
    "ivs_realtime",
    "participant_replicas",
    "participant_scans",
]
