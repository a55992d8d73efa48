"""Request validation against botocore's service model, phrased the way AWS answers.

botocore's own ``ParamValidator`` (what boto3 runs before it sends a request) checks
required members, JSON types and minimum lengths and values. The service checks more than
the SDK does, so this module adds only what botocore leaves out: maximum lengths and
values, string patterns, enum values, map sizes, and booleans sent for numbers. Like AWS,
it ignores members it does not know and treats ``null`` as absent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

from ivs_realtime_emulator import model

_BOTOCORE = ParamValidator()
_NUMBER_TYPES = frozenset({"integer", "long", "float", "double"})
_INTEGRAL_TYPES = frozenset({"integer", "long"})
# botocore names the expected Python types; AWS names the JSON type.
_TYPE_WORDS = {
    "<class 'str'>": "be a string",
    "<class 'int'>": "be an integer",
    "<class 'float'>": "be a number",
    "<class 'bool'>": "be a boolean",
    "<class 'dict'>": "be a structure",
    "<class 'list'>": "be a list",
    "<class 'datetime.datetime'>": "be a timestamp",
    "<class 'bytes'>": "be a blob",
}
# One step of a botocore error name: ``.member``, ``[index]`` or `` (key: k)``.
_STEP = re.compile(r"\.([^.\[ ]+)|\[(\d+)\]| \(key: (.*)\)$")


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


def _join(path: str, name: str) -> str:
    """Join a parent path and a member name."""
    return f"{path}.{name}" if path else name


# ---- what botocore checks --------------------------------------------------------------------


def _botocore_errors(value: Any, shape: Shape) -> list[tuple[str, str, dict[str, Any]]]:
    """Run botocore's validator and return its findings as (reason, name, details)."""
    # The report keeps them structured only in ``_errors``; its text uses the SDK's words
    # ("Missing required parameter ..."), not the service's.
    report = _BOTOCORE.validate(value, shape)
    return list(report._errors)


def _steps(name: str) -> Iterator[tuple[str | None, int | None, str | None]]:
    """Split a botocore error name into (member, index, map key) steps."""
    for step in _STEP.finditer(name):
        member, index, key = step.groups()
        yield member, None if index is None else int(index), key


def _aws_path(root: str, name: str) -> str:
    """Turn a botocore name (``.a[0].b``, ``.tags (key: k)``) into AWS's (``a.1.member.b``)."""
    path = root
    for member, index, key in _steps(name):
        if member is not None:
            path = _join(path, member)
        elif index is not None:
            path = f"{path}.{index + 1}.member"
        elif key is not None:
            path = f"{path}.key"
    return path or "body"


def _value_at(value: Any, name: str, default: Any) -> Any:
    """Return the value a botocore error name points at (it reports lengths, not values)."""
    try:
        for member, index, key in _steps(name):
            if key is not None:
                return key
            value = value[index] if index is not None else value[member]
    except (KeyError, IndexError, TypeError):  # a map key that looks like a path
        return default
    return value


def _phrase(value: Any, root: str, reason: str, name: str, details: dict[str, Any]) -> str:
    """Phrase one botocore finding as AWS does."""
    if reason == "missing required field":
        return _problem(None, _aws_path(root, f"{name}.{details['required_name']}"), "not be null")
    found, path = _value_at(value, name, details.get("param")), _aws_path(root, name)
    if reason == "invalid type":
        word = _TYPE_WORDS.get(details["valid_types"][0], "be of another type")
        return _problem(found, path, word)
    if reason == "invalid length":
        return _problem(
            found, path, f"have length greater than or equal to {details['min_allowed']}"
        )
    if reason == "invalid range":
        return _problem(
            found, path, f"have value greater than or equal to {details['min_allowed']}"
        )
    return _problem(found, path, f"be valid ({reason})")


# ---- what botocore leaves out ----------------------------------------------------------------


@functools.cache
def _pattern(text: str) -> re.Pattern[str] | None:
    """Compile a model pattern, skipping ones Python cannot read."""
    try:
        return re.compile(text)
    except re.error:
        return None


def _limits(value: Any, size: int, shape: Shape, path: str, out: list[str], low: bool) -> None:
    """Check a length against the model's max (and its min, where botocore does not)."""
    least, most = shape.metadata.get("min"), shape.metadata.get("max")
    if low and least is not None and size < least:
        out.append(_problem(value, path, f"have length greater than or equal to {least}"))
    if most is not None and size > most:
        out.append(_problem(value, path, f"have length less than or equal to {most}"))


def _string(value: str, shape: Shape, path: str, out: list[str]) -> None:
    """Check a string's max length, pattern and enum."""
    _limits(value, len(value), shape, path, out, low=False)
    pattern = _pattern(shape.metadata.get("pattern") or "")
    if pattern is not None and pattern.pattern and pattern.fullmatch(value) is None:
        out.append(_problem(value, path, f"satisfy regular expression pattern: {pattern.pattern}"))
    enum = getattr(shape, "enum", None) or ()
    if enum and value not in enum:
        out.append(_problem(value, path, f"satisfy enum value set: [{', '.join(enum)}]"))


def _number(value: Any, shape: Shape, path: str, out: list[str]) -> None:
    """Refuse booleans (botocore takes True for 1) and check the model's max."""
    integral = shape.type_name in _INTEGRAL_TYPES
    if isinstance(value, bool):
        out.append(_problem(value, path, "be an integer" if integral else "be a number"))
        return
    if not isinstance(value, int if integral else (int, float)):
        return  # botocore reported the type
    most = shape.metadata.get("max")
    if most is not None and value > most:
        out.append(_problem(value, path, f"have value less than or equal to {most}"))


def _extras(value: Any, shape: Shape, path: str, out: list[str]) -> None:
    """Check what botocore does not, for a value and everything in it."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name, item in value.items():
            if name in shape.members:
                _extras(item, shape.members[name], _join(path, name), out)
    elif isinstance(shape, ListShape) and isinstance(value, list | tuple):
        _limits(value, len(value), shape, path, out, low=False)
        for index, item in enumerate(value):
            _extras(item, shape.member, f"{path}.{index + 1}.member", out)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        _limits(value, len(value), shape, path, out, low=True)
        for key, item in value.items():
            _extras(key, shape.key, f"{path}.key", out)
            _extras(item, shape.value, f"{path}.{key}", out)
    elif shape.type_name == "string" and isinstance(value, str):
        _string(value, shape, path, out)
    elif shape.type_name in _NUMBER_TYPES:
        _number(value, shape, path, out)


# ---- the validator ---------------------------------------------------------------------------


def _without_nulls(value: Any) -> Any:
    """Drop null members and map entries: AWS reads them as absent."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def problems(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Return the AWS-style problems of a value against a model shape (empty if valid)."""
    value = _without_nulls(value)
    found = [
        _phrase(value, path, reason, name, details)
        for reason, name, details in _botocore_errors(value, shape)
        if reason != "unknown field"  # AWS ignores members it does not know
    ]
    _extras(value, shape, path, found)
    return found


def problems_for(shape_name: str, value: Any, path: str) -> list[str]:
    """Validate one value against a named model shape and return the problems."""
    return problems(value, model.shape(shape_name), path)


def summarize(found: list[str]) -> str:
    """Join problems into one AWS-style validation message."""
    count = len(found)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(found)


class InputValidator:
    """Validates request bodies of the served operations against their input shapes."""

    def __init__(self, operations: tuple[str, ...] = model.OPERATIONS) -> None:
        self._shapes = {op: model.input_shape(op) for op in operations}

    def problems(self, operation: str, params: Any) -> list[str]:
        """Return the validation problems of one request body (empty if valid)."""
        return problems(params, self._shapes[operation])
