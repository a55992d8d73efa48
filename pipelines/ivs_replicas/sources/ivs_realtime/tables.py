"""Arrow tables of the loaded tables, with their fixed schemas: scans, discovery and events."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from ivs_replicas.sources.ivs_realtime.scan import API_FIELDS, ReplicaRow, ScanResult

TIMESTAMP = pa.timestamp("us", tz="UTC")

REPLICAS_SCHEMA = pa.schema(
    [pa.field(column, pa.string(), nullable=False) for column in API_FIELDS.values()]
    + [
        pa.field("observed_at", TIMESTAMP, nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        # Members of the replica the service model does not know, as a JSON object. Last, as
        # it came later: a table loaded before has it added at the end, in the same place.
        pa.field("unknown_fields", pa.string()),
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
        pa.field("event_count", pa.int64(), nullable=False),
        pa.field("events_error_code", pa.string()),
    ]
)


def replicas_table(batch: Sequence[ScanResult]) -> pa.Table:
    """One row per replica of every successful scan in the batch."""
    scans = [result for result in batch if result.rows]
    rows = [row for result in scans for row in result.rows]
    columns = [list(column) for column in zip(*rows, strict=True)] or [[]] * len(ReplicaRow._fields)
    scan_of_row = pa.array(
        [index for index, result in enumerate(scans) for _ in result.rows], pa.int32()
    )
    per_scan = {
        "observed_at": [result.scanned_at for result in scans],
        "run_id": [result.run_id for result in scans],
        "region": [result.participant.region for result in scans],
        "account_id": [result.participant.account_id for result in scans],
    }
    *fields, unknown_fields = [pa.array(column, pa.string()) for column in columns]
    arrays = [
        *fields,
        *(
            pa.array(values, REPLICAS_SCHEMA.field(name).type).take(scan_of_row)
            for name, values in per_scan.items()
        ),
        unknown_fields,
    ]
    return pa.Table.from_arrays(arrays, schema=REPLICAS_SCHEMA)


def scans_table(batch: Sequence[ScanResult]) -> pa.Table:
    """One ledger row per scan in the batch."""
    return pa.Table.from_pylist([result.ledger_row() for result in batch], schema=SCANS_SCHEMA)


DISCOVERY_SCHEMAS = {
    "stages": pa.schema(
        [
            pa.field("stage_arn", pa.string(), nullable=False),
            pa.field("name", pa.string()),
            pa.field("region", pa.string(), nullable=False),
            pa.field("account_id", pa.string(), nullable=False),
            pa.field("active_session_id", pa.string()),
            pa.field("tags", pa.string()),
            pa.field("last_seen_at", TIMESTAMP, nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    ),
    "stage_sessions": pa.schema(
        [
            pa.field("session_key", pa.string(), nullable=False),
            pa.field("stage_arn", pa.string(), nullable=False),
            pa.field("session_id", pa.string(), nullable=False),
            pa.field("started_at", TIMESTAMP),
            pa.field("ended_at", TIMESTAMP),
            pa.field("last_seen_at", TIMESTAMP, nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    ),
    "participants": pa.schema(
        [
            pa.field("participant_key", pa.string(), nullable=False),
            pa.field("stage_arn", pa.string(), nullable=False),
            pa.field("session_id", pa.string(), nullable=False),
            pa.field("participant_id", pa.string(), nullable=False),
            pa.field("user_id", pa.string()),
            pa.field("state", pa.string()),
            pa.field("first_join_at", TIMESTAMP),
            pa.field("is_published", pa.bool_()),
            pa.field("replication_type", pa.string()),
            pa.field("replication_state", pa.string()),
            pa.field("source_stage_arn", pa.string()),
            pa.field("source_session_id", pa.string()),
            pa.field("last_seen_at", TIMESTAMP, nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    ),
    "discovery_scans": pa.schema(
        [
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("operation", pa.string(), nullable=False),
            pa.field("account_id", pa.string()),
            pa.field("region", pa.string(), nullable=False),
            pa.field("stage_arn", pa.string()),
            pa.field("session_id", pa.string()),
            pa.field("scanned_at", TIMESTAMP, nullable=False),
            pa.field("finished_at", TIMESTAMP, nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("attempts", pa.int64(), nullable=False),
            pa.field("pages", pa.int64(), nullable=False),
            pa.field("item_count", pa.int64(), nullable=False),
            pa.field("error_code", pa.string()),
            pa.field("error_message", pa.string()),
        ]
    ),
    "participant_events": pa.schema(
        [
            pa.field("event_key", pa.string(), nullable=False),
            pa.field("stage_arn", pa.string(), nullable=False),
            pa.field("session_id", pa.string(), nullable=False),
            pa.field("participant_id", pa.string(), nullable=False),
            pa.field("event_name", pa.string(), nullable=False),
            pa.field("event_at", TIMESTAMP, nullable=False),
            pa.field("destination_stage_arn", pa.string()),
            pa.field("destination_session_id", pa.string()),
            pa.field("remote_participant_id", pa.string()),
            pa.field("error_code", pa.string()),
            pa.field("is_replica", pa.bool_()),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    ),
}


def rows_table(table_name: str, rows: Sequence[dict[str, object]]) -> pa.Table:
    """Rows of a discovery or events table, with its fixed schema."""
    return pa.Table.from_pylist(list(rows), schema=DISCOVERY_SCHEMAS[table_name])
