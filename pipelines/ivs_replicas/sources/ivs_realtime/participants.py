"""Where participants come from: config entries or a CSV / JSON-lines file, validated locally."""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore.session

from ivs_replicas.sources.ivs_realtime.exceptions import InvalidSourceInput
from ivs_replicas.sources.ivs_realtime.settings import (
    LIST_REPLICAS_OPERATION,
    SECTION,
    SERVICE_NAME,
)

logger = logging.getLogger(__name__)

FIELDS = ("source_stage_arn", "participant_id")


def stage_region(stage_arn: str) -> str:
    """The region part of a stage ARN (arn:aws:ivs:REGION:ACCOUNT:stage/ID)."""
    return stage_arn.split(":")[3]


@dataclass(frozen=True, order=True)
class Participant:
    """A publisher in a source stage whose replicas are scanned."""

    source_stage_arn: str
    participant_id: str

    @property
    def region(self) -> str:
        """AWS region taken from the stage ARN."""
        return stage_region(self.source_stage_arn)

    @property
    def account_id(self) -> str:
        """AWS account id taken from the stage ARN."""
        return self.source_stage_arn.split(":")[4]


@cache
def _input_patterns() -> dict[str, tuple[re.Pattern[str], int]]:
    """Patterns and max lengths of the request fields, from botocore's service model."""
    model = botocore.session.get_session().get_service_model(SERVICE_NAME)
    shape = model.operation_model(LIST_REPLICAS_OPERATION).input_shape
    assert shape is not None
    members = shape.members
    return {
        field: (re.compile(members[api].metadata["pattern"]), members[api].metadata["max"])
        for field, api in (
            ("source_stage_arn", "sourceStageArn"),
            ("participant_id", "participantId"),
        )
    }


@cache
def known_regions() -> tuple[str, ...]:
    """Regions where botocore knows the service is offered, in every partition."""
    session = boto3.Session()
    return tuple(
        sorted(
            region
            for partition in session.get_available_partitions()
            for region in session.get_available_regions(SERVICE_NAME, partition_name=partition)
        )
    )


def check_entry(entry: Mapping[str, Any]) -> list[str]:
    """Problems with one participant entry; empty when it is valid."""
    problems = [f"missing '{field}'" for field in FIELDS if not entry.get(field)]
    if problems:
        return problems
    problems = [problem for field in FIELDS for problem in field_problems(field, entry[field])]
    return problems or region_problems(entry["source_stage_arn"])


def field_problems(field: str, value: object) -> list[str]:
    """Problems of one request field against the service model's pattern and length."""
    pattern, max_length = _input_patterns()[field]
    if not isinstance(value, str):
        return [f"{field} must be a string, got {type(value).__name__}"]
    if len(value) > max_length or not pattern.fullmatch(value):
        return [f"{field} {value!r} does not match {pattern.pattern} (max {max_length})"]
    return []


def region_problems(stage_arn: str) -> list[str]:
    """A problem when the stage ARN's region does not offer IVS Real-Time."""
    region = stage_region(stage_arn)
    if region in known_regions():
        return []
    return [
        f"region {region!r} in {stage_arn} is not a region where "
        f"IVS Real-Time is offered ({', '.join(known_regions())})"
    ]


def validate(entries: Iterable[tuple[str, Mapping[str, Any]]], source: str) -> list[Participant]:
    """Turn (location, entry) pairs into unique participants, or name every bad entry."""
    participants: list[Participant] = []
    seen: set[Participant] = set()
    problems: list[str] = []
    for location, entry in entries:
        entry_problems = check_entry(entry)
        if entry_problems:
            problems.extend(f"{location}: {problem}" for problem in entry_problems)
            continue
        participant = Participant(entry["source_stage_arn"], entry["participant_id"])
        if participant in seen:
            logger.warning("%s: duplicate participant %s ignored", location, participant)
            continue
        seen.add(participant)
        participants.append(participant)
    if problems:
        raise InvalidSourceInput(f"{len(problems)} bad participant entries in {source}", problems)
    if not participants:
        raise InvalidSourceInput(f"no participants in {source}: add at least one")
    return participants


def read_participants_file(path: str | Path) -> list[Participant]:
    """Read participants from a CSV (header source_stage_arn,participant_id) or JSON-lines file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidSourceInput(f"cannot read participants file {file}: {error}") from error
    if not text.strip():
        raise InvalidSourceInput(f"participants file {file} is empty")
    first_line = text.lstrip().splitlines()[0]
    entries = _json_lines(text, file) if first_line.startswith("{") else _csv_rows(text, file)
    return validate(entries, str(file))


def _json_lines(text: str, file: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield (file:line, object) for every non-blank JSON line."""
    problems = []
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{file}:{number}: not valid JSON ({error.msg})")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{file}:{number}: expected a JSON object")
            continue
        entries.append((f"{file}:{number}", entry))
    if problems:
        raise InvalidSourceInput(f"{len(problems)} bad participant entries in {file}", problems)
    return iter(entries)


def _csv_rows(text: str, file: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield (file:line, row) for every CSV data row; the header must name both fields."""
    reader = csv.DictReader(text.splitlines())
    missing = [field for field in FIELDS if field not in (reader.fieldnames or [])]
    if missing:
        raise InvalidSourceInput(
            f"{file}:1: CSV header must include {','.join(FIELDS)} (missing {', '.join(missing)})"
        )
    for row in reader:
        if any((value or "").strip() for value in row.values() if isinstance(value, str)):
            yield (
                f"{file}:{reader.line_num}",
                {field: (row[field] or "").strip() for field in FIELDS},
            )


def resolve_participants(
    configured: Sequence[Mapping[str, Any]] | None, participants_file: str | None
) -> list[Participant]:
    """Participants from the file when given, else from the configured list."""
    if participants_file:
        return read_participants_file(participants_file)
    if not configured:
        raise InvalidSourceInput(
            "no participants configured: set participants or participants_file in "
            f"{SECTION} of .dlt/config.toml, or pass --participants FILE"
        )
    if not isinstance(configured, Sequence) or isinstance(configured, str):
        raise InvalidSourceInput(f"{SECTION} participants must be a list of tables")
    entries = (
        (
            f"{SECTION} participants[{index}]",
            entry if isinstance(entry, Mapping) else {},
        )
        for index, entry in enumerate(configured)
    )
    return validate(entries, f"{SECTION} participants")
