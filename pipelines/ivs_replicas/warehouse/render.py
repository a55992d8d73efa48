"""Frames as text for the terminal or a pipe: an aligned table, Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time

import pandas as pd

from ivs_replicas.errors import BadInputError
from ivs_replicas.warehouse.database import as_utc

FORMATS = ("table", "csv", "json", "markdown")
# Frame attribute: a line for the reader under the frame (table and Markdown formats).
NOTE = "note"


def is_missing(value: object) -> bool:
    """Whether a cell is NULL (None, NaN, NaT or NA)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def json_value(value: object) -> object:
    """A cell as a JSON value: timestamps as ISO 8601 UTC text, NULL as null."""
    if is_missing(value):
        return None
    if isinstance(value, datetime) and value.tzinfo is None and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def cell_text(value: object) -> str:
    """A cell as text for the table and CSV formats; NULL is empty."""
    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_table(frame: pd.DataFrame) -> str:
    """A plain text table, columns aligned, numbers to the right."""
    if frame.empty:
        return "(no rows)"
    columns = [str(column) for column in frame.columns]
    cells = [[cell_text(value) for value in row] for row in frame.itertuples(index=False)]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    numeric = [is_number(dtype) for dtype in frame.dtypes]

    def line(values: list[str]) -> str:
        """One aligned line."""
        padded = (
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(columns), rule, *(line(row) for row in cells)])


def markdown_cell(text: str) -> str:
    """A cell's text safe inside a Markdown table row."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table, numbers aligned right."""
    if frame.empty:
        return "(no rows)"
    columns = [markdown_cell(str(column)) for column in frame.columns]
    rule = ["---:" if is_number(dtype) else "---" for dtype in frame.dtypes]
    rows = [
        [markdown_cell(cell_text(value)) for value in row] for row in frame.itertuples(index=False)
    ]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in [columns, rule, *rows])


def is_number(dtype: object) -> bool:
    """Whether a column holds numbers (aligned right), booleans excepted."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def with_note(text: str, frame: pd.DataFrame) -> str:
    """The rendered frame, with the note it carries (rows left out, say) below it."""
    note = frame.attrs.get(NOTE)
    return f"{text}\n({note})" if note else text


def render_csv(frame: pd.DataFrame) -> str:
    """CSV with a header line; NULL is an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([str(column) for column in frame.columns])
    writer.writerows([cell_text(value) for value in row] for row in frame.itertuples(index=False))
    return buffer.getvalue().rstrip("\n")


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The rows as JSON-ready dicts."""
    columns = [str(column) for column in frame.columns]
    return [
        {column: json_value(value) for column, value in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def render(frames: Mapping[str, pd.DataFrame], fmt: str = "table") -> str:
    """Frames as text: 'table' (aligned), 'markdown', 'csv' or 'json'.

    One frame renders alone (a JSON array of objects); several are titled by name (CSV
    sections start with '# name', Markdown ones with '## name'; JSON is an object of arrays).
    The table and Markdown formats print a frame's note (`frame.attrs["note"]`) below it.
    """
    if fmt not in FORMATS:
        raise BadInputError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "json":
        if len(frames) == 1:
            return json.dumps(records(next(iter(frames.values()))), indent=2)
        return json.dumps({name: records(frame) for name, frame in frames.items()}, indent=2)
    single = len(frames) == 1
    if fmt == "csv":
        sections = [
            render_csv(frame) if single else f"# {name}\n{render_csv(frame)}"
            for name, frame in frames.items()
        ]
    elif fmt == "markdown":
        sections = [
            with_note(render_markdown(frame), frame)
            if single
            else f"## {name}\n\n{with_note(render_markdown(frame), frame)}"
            for name, frame in frames.items()
        ]
    else:
        sections = [
            with_note(render_table(frame), frame)
            if single
            else f"{name}\n\n{with_note(render_table(frame), frame)}"
            for name, frame in frames.items()
        ]
    return "\n\n".join(sections)
