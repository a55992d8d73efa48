"""Synthetic replica history in DuckDB: the two source tables, filled with hourly scans."""

from __future__ import annotations

import duckdb

from ivs_replicas.settings import DEFAULT_DATASET
from ivs_replicas.sources.ivs_realtime.settings import REPLICAS_TABLE, SCANS_TABLE
from ivs_replicas.warehouse.database import quote_identifier
from ivs_replicas.warehouse.views import create_source_tables

START_AT = "2025-01-01 00:00:00+00"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STAGE_ARN_PREFIX = f"arn:aws:ivs:{REGION}:{ACCOUNT_ID}:stage/"
# Hours generated per statement: rows stay in time order and memory stays bounded.
CHUNK_HOURS = 1460


def _grid_sql(replicas: int, hours: range, seed: int) -> str:
    """Return the SQL of one row per replica per hour, with the scan's status and presence."""
    return f"""
        with grid as (
            select
                replica.range as replica_number,
                replica.range // 2 as participant_number,
                hour.range as hour_number,
            from range({replicas}) as replica
            cross join range({hours.start}, {hours.stop}) as hour
        )
        select
            *,
            hash({seed}, participant_number, hour_number, 'fail') % 200 = 0 as is_failed,
            hour_number >= hash({seed}, replica_number, 'first') % ({hours.stop} // 100 + 1)
                and hash({seed}, replica_number, hour_number // 72, 'gone') % 40 != 0
                as is_present,
            case
                when hash({seed}, replica_number, hour_number // 24, 'state') % 5 = 0
                    then 'STOPPED'
                else 'ACTIVE'
            end as replication_state,
        from grid
    """


def _participant_columns_sql(number: str) -> str:
    """Return SQL columns naming the stage and participant of a participant number."""
    return f"""
        '{STAGE_ARN_PREFIX}src' || lpad(({number} % 50)::varchar, 3, '0') as source_stage_arn,
        'participant-' || {number} as participant_id,
    """


def _load_id_sql(hour: str) -> str:
    """Return SQL naming the load package of an hour's run, as dlt spells load ids."""
    return f"(epoch(timestamptz '{START_AT}')::bigint + {hour} * 3600)::varchar || '.000000'"


def _insert_loads(connection: duckdb.DuckDBPyConnection, schema: str, hours: range) -> None:
    """List every hour's load package as completed in _dlt_loads."""
    connection.execute(
        f"""
        insert into {schema}._dlt_loads (load_id, status)
        select {_load_id_sql("range")}, 0 from range({hours.start}, {hours.stop})
        """
    )


def _insert_replicas(
    connection: duckdb.DuckDBPyConnection, schema: str, replicas: int, hours: range, seed: int
) -> None:
    """Insert one replica row per present replica per successful hourly scan."""
    connection.execute(
        f"""
        insert into {schema}.{REPLICAS_TABLE} by name
        select
            {_participant_columns_sql("participant_number")}
            'session-src-' || participant_number as source_session_id,
            '{STAGE_ARN_PREFIX}dst' || lpad((hash({seed}, replica_number, 'dst') % 20)::varchar,
                3, '0') as destination_stage_arn,
            'session-dst-' || replica_number as destination_session_id,
            replication_state,
            timestamptz '{START_AT}' + to_hours(hour_number)
                + to_seconds(participant_number % 600) as observed_at,
            'run-' || lpad(hour_number::varchar, 6, '0') as run_id,
            '{REGION}' as region,
            '{ACCOUNT_ID}' as account_id,
            {_load_id_sql("hour_number")} as _dlt_load_id,
        from ({_grid_sql(replicas, hours, seed)})
        where is_present and not is_failed
        order by hour_number, replica_number
        """
    )


def _insert_scans(
    connection: duckdb.DuckDBPyConnection, schema: str, replicas: int, hours: range, seed: int
) -> None:
    """Insert one ledger row per participant per hour, with a few participants without replicas."""
    participants = (replicas + 1) // 2 + max(1, replicas // 100)
    connection.execute(
        f"""
        insert into {schema}.{SCANS_TABLE} by name
        with grid as (
            select
                participant.range as participant_number,
                hour.range as hour_number,
                hash({seed}, participant.range, hour.range, 'fail') % 200 = 0 as is_failed,
            from range({participants}) as participant
            cross join range({hours.start}, {hours.stop}) as hour
        ),
        counts as (
            select run_id, source_stage_arn, participant_id, count(*) as replica_count,
            from {schema}.{REPLICAS_TABLE}
            where _dlt_load_id >= {_load_id_sql(str(hours.start))}
            group by all
        ),
        scans as (
            select
                'run-' || lpad(hour_number::varchar, 6, '0') as run_id,
                {_participant_columns_sql("participant_number")}
                timestamptz '{START_AT}' + to_hours(hour_number)
                    + to_seconds(participant_number % 600) as scanned_at,
                is_failed,
                {_load_id_sql("hour_number")} as load_id,
            from grid
        )
        select
            scans.run_id,
            scans.source_stage_arn,
            scans.participant_id,
            '{REGION}' as region,
            '{ACCOUNT_ID}' as account_id,
            scans.scanned_at,
            scans.scanned_at + to_seconds(1) as finished_at,
            case when scans.is_failed then 'failed' else 'ok' end as status,
            case when scans.is_failed then 0 else 1 end as pages,
            case when scans.is_failed then 0 else coalesce(counts.replica_count, 0) end
                as replica_count,
            case when scans.is_failed then 'ThrottlingException' end as error_code,
            case when scans.is_failed then 'Rate exceeded' end as error_message,
            0 as event_count,
            scans.load_id as _dlt_load_id,
        from scans
        left join counts using (run_id, source_stage_arn, participant_id)
        order by scans.scanned_at, scans.participant_id
        """
    )


def generate_history(
    connection: duckdb.DuckDBPyConnection,
    dataset: str = DEFAULT_DATASET,
    replicas: int = 1000,
    hours: int = 8760,
    seed: int = 0,
    start_hour: int = 0,
) -> dict[str, int]:
    """Fill a dataset with hourly scans of `replicas` replicas; return rows per table.

    Two replicas per participant, about 1% of participants without replicas, 0.5% failed
    scans, daily state flips (one day in five STOPPED) and 72-hour disappearances, all drawn
    from `seed`; rows arrive in time order, as scheduled runs append them, one completed load
    package per hour. `start_hour` appends the hours from there on to an earlier history of
    the same seed. The derived tables are not filled: run `maintain` (or `rebuild`).
    """
    create_source_tables(connection, dataset)
    schema = quote_identifier(dataset)
    for first in range(start_hour, start_hour + hours, CHUNK_HOURS):
        chunk = range(first, min(first + CHUNK_HOURS, start_hour + hours))
        _insert_replicas(connection, schema, replicas, chunk, seed)
        _insert_scans(connection, schema, replicas, chunk, seed)
        _insert_loads(connection, schema, chunk)
    return {
        table: _row_count(connection, f"{schema}.{table}")
        for table in (REPLICAS_TABLE, SCANS_TABLE)
    }


def _row_count(connection: duckdb.DuckDBPyConnection, relation: str) -> int:
    """Rows in a table."""
    row = connection.execute(f"select count(*) from {relation}").fetchone()
    return int(row[0]) if row else 0
