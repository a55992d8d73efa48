"""Naive ways to do the same job, written the obvious way, as yardsticks for the pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import dlt
import duckdb
import pandas as pd
from botocore.config import Config
from botocore.exceptions import ClientError
from harness import FAKE_KEY_ID, FAKE_SECRET

PAGE_SIZE = 50


def region_of(ref: dict[str, str]) -> str:
    """The region of a participant's stage ARN."""
    return ref["source_stage_arn"].split(":")[3]


def make_client(url: str, region: str, config: Config | None = None) -> Any:
    """A plain boto3 ivs-realtime client with boto3's defaults (legacy retries, 5 attempts)."""
    return boto3.client(
        "ivs-realtime",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
        config=config,
    )


def serial_pages(url: str, refs: list[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    """Every page of every participant, one call at a time, one client per region."""
    clients: dict[str, Any] = {}
    for ref in refs:
        region = region_of(ref)
        client = clients.get(region) or clients.setdefault(region, make_client(url, region))
        paginator = client.get_paginator("list_participant_replicas")
        pages = paginator.paginate(
            sourceStageArn=ref["source_stage_arn"],
            participantId=ref["participant_id"],
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield page["replicas"]


def pandas_loop(url: str, refs: list[dict[str, str]], database: Path) -> int:
    """Serial paginator loop, rows into a pandas DataFrame, DataFrame into DuckDB."""
    rows = [replica for page in serial_pages(url, refs) for replica in page]
    frame = pd.DataFrame(rows)
    frame["observed_at"] = datetime.now(UTC)
    frame["run_id"] = "naive"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create table participant_replicas as select * from frame")
        return int(connection.execute("select count(*) from participant_replicas").fetchone()[0])


def dlt_pipeline(url: str, refs: list[dict[str, str]], database: Path) -> int:
    """A one-resource dlt pipeline with default settings: a list of dicts per page."""

    @dlt.resource(name="participant_replicas", write_disposition="append")
    def replicas() -> Iterator[list[dict[str, str]]]:
        """One page of replicas at a time."""
        yield from serial_pages(url, refs)

    pipeline = dlt.pipeline(
        pipeline_name="naive_replicas",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="naive",
        pipelines_dir=str(database.parent / "dlt"),
    )
    pipeline.run(replicas())
    with duckdb.connect(str(database)) as connection:
        query = "select count(*) from naive.participant_replicas"
        return int(connection.execute(query).fetchone()[0])


def serial_scan(url: str, refs: list[dict[str, str]]) -> tuple[int, int]:
    """Serial paginator loop with boto3's default retries; (rows, participants lost)."""
    clients = {region: make_client(url, region) for region in {region_of(ref) for ref in refs}}
    rows = lost = 0
    for ref in refs:
        paginator = clients[region_of(ref)].get_paginator("list_participant_replicas")
        pages = paginator.paginate(
            sourceStageArn=ref["source_stage_arn"],
            participantId=ref["participant_id"],
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        try:
            rows += sum(len(page["replicas"]) for page in pages)
        except ClientError:
            lost += 1
    return rows, lost
