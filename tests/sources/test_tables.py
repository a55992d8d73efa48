"""Arrow tables of scan results, built by column with the loaded tables' schemas."""

from __future__ import annotations

from datetime import UTC, datetime

from ivs_replicas.sources.ivs_realtime.participants import Participant
from ivs_replicas.sources.ivs_realtime.scan import ReplicaRow, ScanResult, failed
from ivs_replicas.sources.ivs_realtime.tables import REPLICAS_SCHEMA, replicas_table

STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456"


def scan(participant_id: str, *unknown: str | None) -> ScanResult:
    """A successful scan with one replica per `unknown` value."""
    now = datetime.now(UTC)
    rows = [
        ReplicaRow(STAGE, participant_id, "s", "d", f"ds-{n}", "ACTIVE", extra)
        for n, extra in enumerate(unknown)
    ]
    return ScanResult(Participant(STAGE, participant_id), "run", now, now, rows=rows)


def test_unknown_fields_are_the_last_column_and_null_when_none() -> None:
    """Last: a table loaded before the column existed gets it added at the end, as here."""
    refused = failed(scan("p-3", None), "MalformedReplica", "replica 1: ...")
    table = replicas_table([scan("p-1", None, '{"tier":"gold"}'), refused, scan("p-2", None)])
    assert table.schema == REPLICAS_SCHEMA
    assert table.schema.names[-1] == "unknown_fields"
    assert REPLICAS_SCHEMA.field("unknown_fields").nullable
    assert table.column("unknown_fields").to_pylist() == [None, '{"tier":"gold"}', None]
    assert table.column("participant_id").to_pylist() == ["p-1", "p-1", "p-2"]


def test_an_empty_batch_is_an_empty_table() -> None:
    assert replicas_table([]).num_rows == 0
