"""Frames as text for the terminal or a pipe: an aligned table, CSV or JSON."""

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

FORMATS = ("table", "csv", "json")


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
    numeric = [
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        for dtype in frame.dtypes
    ]

    def line(values: list[str]) -> str:
        """One aligned line."""
        padded = (
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(columns), rule, *(line(row) for row in cells)])


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
    """Frames as text: 'table' (aligned), 'csv' or 'json'.

    One frame renders alone (a JSON array of objects); several are titled by name (CSV
    sections start with '# name'; JSON is an object of arrays).
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
    else:
        sections = [
            render_table(frame) if single else f"{name}\n\n{render_table(frame)}"
            for name, frame in frames.items()
        ]
    return "\n\n".join(sections)
