"""REST-JSON wire details: replies, AWS error bodies and the SigV4 credential scope."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from ivs_realtime_emulator import model

_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

VALIDATION = "ValidationException"
ACCESS_DENIED = "AccessDeniedException"
INTERNAL = "InternalServerException"
THROTTLING = "ThrottlingException"
UNAVAILABLE = "ServiceUnavailableException"
UNRECOGNIZED_CLIENT = "UnrecognizedClientException"
SERIALIZATION = "SerializationException"
UNKNOWN_OPERATION = "UnknownOperationException"

# Errors the service model does not define answer with a plain ``message`` member.
_PLAIN_STATUS = {
    THROTTLING: 429,
    UNAVAILABLE: 503,
    UNRECOGNIZED_CLIENT: 403,
    SERIALIZATION: 400,
    UNKNOWN_OPERATION: 404,
}


@dataclass(slots=True)
class Reply:
    """An HTTP answer: status, JSON body, error type header; or a dropped connection."""

    status: int
    body: bytes
    error_type: str | None = None
    delay: float = 0.0
    drop: bool = False


class ApiError(Exception):
    """An AWS error answer raised while serving a request."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Credential(NamedTuple):
    """The parts of a SigV4 credential scope (the secret key never reaches the server)."""

    access_key_id: str
    date: str
    region: str
    service: str


def encode(payload: Any) -> bytes:
    """Encode a JSON body compactly."""
    return _DUMPS(payload).encode("utf-8")


@functools.cache
def _modeled(code: str) -> tuple[int, tuple[str, ...]] | None:
    """Return (HTTP status, body members) of an error shape the model defines."""
    try:
        error = model.shape(code)
    except Exception:
        return None
    status = error.metadata.get("error", {}).get("httpStatusCode")
    return (int(status), model.error_members(code)) if status else None


def error_reply(code: str, message: str) -> Reply:
    """Answer like AWS: status and body members from the model, type in ``x-amzn-ErrorType``."""
    modeled = _modeled(code)
    if modeled is None:
        return Reply(_PLAIN_STATUS.get(code, 400), encode({"message": message}), code)
    status, members = modeled
    return Reply(status, encode(dict.fromkeys(members, message)), code)


def parse_credential(authorization: str | None) -> Credential | None:
    """Extract the credential scope from an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""
    if not authorization or not authorization.startswith("AWS4-HMAC-SHA256"):
        return None
    found = _SCOPE.search(authorization)
    return Credential(*found.groups()) if found else None
