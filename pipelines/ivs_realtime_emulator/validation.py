"""Generic input validation driven by the botocore service model, with AWS-style messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ivs_realtime_emulator import model

# A check takes (value, path) and appends problems to a list.
Check = Callable[[Any, str, list[str]], None]

_NUMBER_TYPES = frozenset({"integer", "long", "float", "double"})


def _show(value: Any) -> str:
    """Render a value the way AWS quotes it in validation messages."""
    if value is None:
        return "null"
    text = str(value)
    return f"'{text if len(text) <= 200 else text[:200] + '...'}'"


def _problem(value: Any, path: str, constraint: str) -> str:
    """Format one AWS-style validation problem."""
    return (
        f"Value {_show(value)} at '{path}' failed to satisfy constraint: Member must {constraint}"
    )


def _compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """Compile a model pattern, skipping ones Python cannot read."""
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


class _Compiler:
    """Turns model shapes into check functions, once per shape."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def compile(self, shape: Shape) -> Check:
        """Return the (cached) check for a shape; recursive shapes are supported."""
        cached = self._checks.get(shape.name)
        if cached is not None:
            return cached
        box: list[Check] = []

        def forward(value: Any, path: str, out: list[str]) -> None:
            box[0](value, path, out)

        self._checks[shape.name] = forward
        check = self._build(shape)
        box.append(check)
        self._checks[shape.name] = check
        return check

    def _build(self, shape: Shape) -> Check:
        """Build the check for one shape from its type."""
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape)  # type: ignore[arg-type]
        if kind == "list":
            return self._list(shape)  # type: ignore[arg-type]
        if kind == "map":
            return self._map(shape)  # type: ignore[arg-type]
        if kind == "string":
            return _string_check(shape)
        if kind in _NUMBER_TYPES:
            return _number_check(shape)
        if kind == "boolean":
            return _type_check(bool, "be a boolean")
        if kind == "timestamp":
            return _type_check((int, float, str), "be a timestamp")
        return lambda value, path, out: None

    def _structure(self, shape: StructureShape) -> Check:
        """Check required members and each known member; unknown members are ignored."""
        members = {name: self.compile(member) for name, member in shape.members.items()}
        required = tuple(shape.required_members)

        def check(value: Any, path: str, out: list[str]) -> None:
            if not isinstance(value, dict):
                out.append(_problem(value, path or "body", "be a structure"))
                return
            missing = [name for name in required if value.get(name) is None]
            out.extend(_problem(None, _join(path, name), "not be null") for name in missing)
            for name, member_value in value.items():
                member_check = members.get(name)
                if member_check is not None and member_value is not None:
                    member_check(member_value, _join(path, name), out)

        return check

    def _list(self, shape: ListShape) -> Check:
        """Check list length and each item."""
        item = self.compile(shape.member)
        size = _size_check(shape, "have length")

        def check(value: Any, path: str, out: list[str]) -> None:
            if not isinstance(value, list):
                out.append(_problem(value, path, "be a list"))
                return
            size(value, path, out)
            for index, entry in enumerate(value):
                item(entry, f"{path}.{index + 1}.member", out)

        return check

    def _map(self, shape: MapShape) -> Check:
        """Check map size, keys and values."""
        key, val = self.compile(shape.key), self.compile(shape.value)
        size = _size_check(shape, "have length")

        def check(value: Any, path: str, out: list[str]) -> None:
            if not isinstance(value, dict):
                out.append(_problem(value, path, "be a map"))
                return
            size(value, path, out)
            for k, v in value.items():
                key(k, f"{path}.key", out)
                val(v, f"{path}.{k}", out)

        return check


def _join(path: str, name: str) -> str:
    """Join a parent path and a member name."""
    return f"{path}.{name}" if path else name


def _type_check(types: type | tuple[type, ...], constraint: str) -> Check:
    """Check a plain JSON type."""

    def check(value: Any, path: str, out: list[str]) -> None:
        ok = isinstance(value, types) and (types is bool or not isinstance(value, bool))
        if not ok:
            out.append(_problem(value, path, constraint))

    return check


def _size_check(shape: Shape, what: str) -> Check:
    """Check min/max length of a string, list or map."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")

    def check(value: Any, path: str, out: list[str]) -> None:
        size = len(value)
        if low is not None and size < low:
            out.append(_problem(value, path, f"{what} greater than or equal to {low}"))
        if high is not None and size > high:
            out.append(_problem(value, path, f"{what} less than or equal to {high}"))

    return check


def _string_check(shape: Shape) -> Check:
    """Check a string's type, length, pattern and enum."""
    size = _size_check(shape, "have length")
    pattern = _compile_pattern(shape.metadata.get("pattern"))
    enum = tuple(getattr(shape, "enum", None) or ())

    def check(value: Any, path: str, out: list[str]) -> None:
        if not isinstance(value, str):
            out.append(_problem(value, path, "be a string"))
            return
        size(value, path, out)
        if pattern is not None and pattern.fullmatch(value) is None:
            constraint = f"satisfy regular expression pattern: {pattern.pattern}"
            out.append(_problem(value, path, constraint))
        if enum and value not in enum:
            out.append(_problem(value, path, f"satisfy enum value set: [{', '.join(enum)}]"))

    return check


def _number_check(shape: Shape) -> Check:
    """Check a number's type and range."""
    integral = shape.type_name in ("integer", "long")
    low, high = shape.metadata.get("min"), shape.metadata.get("max")

    def check(value: Any, path: str, out: list[str]) -> None:
        wanted = int if integral else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            out.append(_problem(value, path, "be an integer" if integral else "be a number"))
            return
        if low is not None and value < low:
            out.append(_problem(value, path, f"have value greater than or equal to {low}"))
        if high is not None and value > high:
            out.append(_problem(value, path, f"have value less than or equal to {high}"))

    return check


_COMPILER = _Compiler()


def shape_check(shape: Shape) -> Check:
    """Return the compiled check for any model shape."""
    return _COMPILER.compile(shape)


def problems_for(shape_name: str, value: Any, path: str) -> list[str]:
    """Validate one value against a named model shape and return the problems."""
    out: list[str] = []
    shape_check(model.shape(shape_name))(value, path, out)
    return out


def summarize(problems: list[str]) -> str:
    """Join problems into one AWS-style validation message."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)


class InputValidator:
    """Validates request bodies of the served operations against their input shapes."""

    def __init__(self, operations: tuple[str, ...] = model.OPERATIONS) -> None:
        self._checks = {op: shape_check(model.input_shape(op)) for op in operations}

    def problems(self, operation: str, params: Any) -> list[str]:
        """Return the validation problems of one request body (empty if valid)."""
        out: list[str] = []
        self._checks[operation](params, "", out)
        return out
