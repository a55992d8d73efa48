"""Arrow tables for the two loaded tables, built from batches of scan results."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from pipelines.ivs_realtime.scan import API_FIELDS, ScanResult

TIMESTAMP = pa.timestamp("us", tz="UTC")

REPLICAS_SCHEMA = pa.schema(
    [pa.field(column, pa.string(), nullable=False) for column in API_FIELDS.values()]
    + [
        pa.field("observed_at", TIMESTAMP, nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
    ]
)

SCANS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("source_stage_arn", pa.string(), nullable=False),
        pa.field("participant_id", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("scanned_at", TIMESTAMP, nullable=False),
        pa.field("finished_at", TIMESTAMP, nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("pages", pa.int64(), nullable=False),
        pa.field("replica_count", pa.int64(), nullable=False),
        pa.field("error_code", pa.string()),
        pa.field("error_message", pa.string()),
    ]
)


def replicas_table(batch: Sequence[ScanResult]) -> pa.Table:
    """One row per replica of every successful scan in the batch."""
    columns: dict[str, list[object]] = {name: [] for name in REPLICAS_SCHEMA.names}
    for result in batch:
        rows = result.rows
        if not rows:
            continue
        for column in API_FIELDS.values():
            columns[column].extend(row[column] for row in rows)
        count = len(rows)
        columns["observed_at"].extend([result.scanned_at] * count)
        columns["run_id"].extend([result.run_id] * count)
        columns["region"].extend([result.participant.region] * count)
        columns["account_id"].extend([result.participant.account_id] * count)
    return pa.Table.from_pydict(columns, schema=REPLICAS_SCHEMA)


def scans_table(batch: Sequence[ScanResult]) -> pa.Table:
    """One ledger row per scan in the batch."""
    return pa.Table.from_pylist([result.ledger_row() for result in batch], schema=SCANS_SCHEMA)
