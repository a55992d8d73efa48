"""dlt source for Amazon IVS Real-Time participant replicas: snapshots plus a scan ledger."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

import boto3
import dlt
import pyarrow as pa
from dlt.common.configuration.specs import AwsCredentials
from dlt.sources import DltResource

from pipelines.errors import FatalRunError
from pipelines.ivs_realtime import settings
from pipelines.ivs_realtime.client import ApiClients, ClientSettings
from pipelines.ivs_realtime.config import check_settings, new_run_id
from pipelines.ivs_realtime.fleet import scan_concurrently
from pipelines.ivs_realtime.participants import Participant, resolve_participants
from pipelines.ivs_realtime.scan import RUN_FATAL_ERROR_CODES, ScanResult, scan_participant
from pipelines.ivs_realtime.tables import replicas_table, scans_table
from pipelines.ivs_realtime.tally import RunTally


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
    run_id: str | None = None,
) -> Sequence[DltResource]:
    """Replica snapshots and the scan ledger of every configured participant.

    Args:
        participants: `[{source_stage_arn, participant_id}, ...]`, used when no file is given.
        participants_file: CSV (header `source_stage_arn,participant_id`) or JSON lines.
        credentials: AWS credentials; boto3's default chain when left empty.
        endpoint_url: endpoint override; `AWS_ENDPOINT_URL_IVS_REALTIME` works too.
        page_size: `maxResults` per call, 1-50.
        max_pages: pages per participant before its scan fails.
        requests_per_second: client-side quota per (account, region, operation).
        max_attempts: botocore attempts per call, the first included.
        retry_mode: botocore retry mode: standard or adaptive.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for a response.
        workers_per_region: concurrent scans per (account, region).
        batch_rows: replica rows gathered before an Arrow table is handed to dlt.
        scan_attempts: whole scans of a participant when retries end in a transient error.
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
    fleet = resolve_participants(participants, participants_file)
    client_settings = ClientSettings(
        endpoint_url=endpoint_url,
        requests_per_second=requests_per_second,
        max_attempts=max_attempts,
        retry_mode=retry_mode,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max(10, workers_per_region),
        scan_attempts=scan_attempts,
    )
    clients = ApiClients(partial(boto3_session, credentials), client_settings)
    tally = RunTally(run_id or new_run_id(), calls=clients.stats)

    def scan(participant: Participant) -> ScanResult:
        """Scan one participant with its own region's client."""
        client = clients.client(participant.account_id, participant.region)
        attempt = 1
        result = scan_participant(client, participant, tally.run_id, page_size, max_pages)
        while clients.should_rescan(result.error_code, attempt):
            attempt += 1
            tally.rescans += 1
            result = scan_participant(client, participant, tally.run_id, page_size, max_pages)
        if result.error_code in RUN_FATAL_ERROR_CODES:
            raise FatalRunError(f"AWS rejected the credentials: {result.error_message}")
        return result

    scans = dlt.resource(
        scan_batches(scan_concurrently(fleet, scan, workers_per_region), tally, batch_rows),
        name="replica_scans",
        selected=False,
    )
    source_resources = [scans | participant_replicas, scans | participant_scans]
    for resource in source_resources:
        resource.tally = tally  # type: ignore[attr-defined]
    return source_resources


def scan_batches(
    results: Iterator[ScanResult], tally: RunTally, batch_rows: int
) -> Iterator[list[ScanResult]]:
    """Group finished scans into batches of about `batch_rows` replicas, whole scans only."""
    batch: list[ScanResult] = []
    rows = 0
    for result in results:
        tally.add(result)
        batch.append(result)
        rows += len(result.rows) + 1
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


def boto3_session(credentials: AwsCredentials | None) -> boto3.Session:
    """A boto3 session from dlt's AWS credentials, falling back to boto3's default chain."""
    if credentials is None:
        return boto3.Session()
    return boto3.Session(botocore_session=credentials._to_botocore_session())


__all__ = ["ivs_realtime", "participant_replicas", "participant_scans"]
