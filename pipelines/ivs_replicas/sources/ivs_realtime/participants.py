"""Where participants come from: config entries or a CSV / JSON file, validated locally."""

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
# A participants file is read whole: 16 MiB holds about 150,000 participants.
MAX_FILE_BYTES = 16 * 2**20
# No valid line comes near this; it keeps every field far below csv's own field limit.
MAX_LINE_CHARS = 16 * 2**10
JSON_SPACE = re.compile(r"[ \t\n\r]*")

# A participant entry and where it is, as "file:line" or "setting[index]".
Located = tuple[str, Mapping[str, Any]]


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
        return [f"{field} {shown(value)} does not match {pattern.pattern} (max {max_length})"]
    return []


def shown(value: str, limit: int = 80) -> str:
    """The value quoted for a message, cut short when it is long."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


def region_problems(stage_arn: str) -> list[str]:
    """A problem when the stage ARN's region does not offer IVS Real-Time."""
    region = stage_region(stage_arn)
    if region in known_regions():
        return []
    return [
        f"region {region!r} in {stage_arn} is not a region where "
        f"IVS Real-Time is offered ({', '.join(known_regions())})"
    ]


def validate(entries: Iterable[Located], source: str) -> list[Participant]:
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
    """Read participants from a CSV (header source_stage_arn,participant_id) or JSON file.

    JSON is one object per line, or one array of objects. The read is bounded, so a huge
    file or a device such as /dev/zero fails at once, and every problem names file and line.
    """
    file = Path(path)
    text = _read_text(file)
    if not text.strip():
        raise InvalidSourceInput(f"participants file {file} is empty")
    first = text.lstrip()[0]
    entries: Iterable[Located]
    if first == "[":
        entries = _json_array(text, file)
    elif first == "{":
        entries = _json_lines(text, file)
    else:
        entries = _csv_rows(text, file)
    return validate(entries, str(file))


def _read_text(file: Path) -> str:
    """The file as text: at most MAX_FILE_BYTES of UTF-8, a leading byte-order mark dropped."""
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidSourceInput(f"cannot read participants file {file}: {error}") from error
    if len(data) > MAX_FILE_BYTES:
        raise InvalidSourceInput(
            f"participants file {file} is larger than {MAX_FILE_BYTES // 2**20} MiB: "
            "is it the right file?"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InvalidSourceInput(
            f"{file}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}): "
            "save the file as UTF-8 (in Excel: CSV UTF-8)"
        ) from None


def _lines(text: str, file: Path) -> list[str]:
    """The file's lines, split on \\n only (other breaks stay in the line), each one bounded."""
    lines = text.split("\n")
    problems = [
        f"{file}:{number}: line is longer than {MAX_LINE_CHARS} characters"
        for number, line in enumerate(lines, start=1)
        if len(line) > MAX_LINE_CHARS
    ]
    if problems:
        raise InvalidSourceInput(f"{len(problems)} bad participant entries in {file}", problems)
    return lines


def _json_lines(text: str, file: Path) -> list[Located]:
    """(file:line, object) for every non-blank line; every bad line is named."""
    problems = []
    entries: list[Located] = []
    for number, line in enumerate(_lines(text, file), start=1):
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
    return entries


def _json_array(text: str, file: Path) -> list[Located]:
    """(file:line [index], object) for every item of a JSON array of objects."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidSourceInput(f"{file}:{error.lineno}: not valid JSON ({error.msg})") from None
    starts = _item_lines(text)
    problems = [
        f"{file}:{starts[index]} [{index}]: expected a JSON object"
        for index, item in enumerate(items)
        if not isinstance(item, dict)
    ]
    if problems:
        raise InvalidSourceInput(f"{len(problems)} bad participant entries in {file}", problems)
    return [(f"{file}:{starts[index]} [{index}]", item) for index, item in enumerate(items)]


def _item_lines(text: str) -> list[int]:
    """The line each top-level item of a valid JSON array starts on."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, text.index("[") + 1)
    lines = []
    while text[position] != "]":
        lines.append(text.count("\n", 0, position) + 1)
        _, end = decoder.raw_decode(text, position)
        position = _skip_space(text, end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)
    return lines


def _skip_space(text: str, position: int) -> int:
    """The position of the next character that is not JSON whitespace."""
    match = JSON_SPACE.match(text, position)
    return match.end() if match else position


def _csv_rows(text: str, file: Path) -> Iterator[Located]:
    """Yield (file:line, row) for every CSV data row; the header must name both fields.

    Lines are split on \\n only, so reported line numbers are the ones an editor shows; a quoted
    field that runs over a line break is refused rather than joined into one value.
    """
    reader = csv.reader(_lines(text, file), strict=True)
    header: list[str] | None = None
    line = 0
    try:
        for row in reader:
            first, line = line + 1, reader.line_num
            if line > first:
                raise InvalidSourceInput(
                    f"{file}:{first}: a quoted field runs over a line break "
                    f"(lines {first}-{line}): a participant field cannot contain one"
                )
            if not any(value.strip() for value in row):
                continue
            if header is None:
                header = [name.strip() for name in row]
                _check_header(header, file, line)
                continue
            entry = dict(zip(header, (value.strip() for value in row), strict=False))
            yield (f"{file}:{line}", {field: entry.get(field, "") for field in FIELDS})
    except csv.Error as error:
        reason = (
            "a carriage return inside a field: end lines with \\n or \\r\\n"
            if "new-line character" in str(error)
            else str(error)
        )
        raise InvalidSourceInput(f"{file}:{line + 1}: not valid CSV ({reason})") from None


def _check_header(header: list[str], file: Path, line: int) -> None:
    """Refuse a CSV header that lacks one of the fields."""
    missing = [field for field in FIELDS if field not in header]
    if missing:
        raise InvalidSourceInput(
            f"{file}:{line}: CSV header must include {','.join(FIELDS)} "
            f"(missing {', '.join(missing)}); or give JSON: one object per line, or an array"
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
