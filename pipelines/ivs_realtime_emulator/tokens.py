"""Opaque, signed pagination tokens bound to one listing and one epoch."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct

_PAYLOAD = struct.Struct(">IQ")
_MAC_SIZE = 16


class TokenError(ValueError):
    """The token was not issued by this server for this listing."""


class TokenCodec:
    """Encodes (epoch, offset) for a listing scope; the HMAC key is random per instance."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, scope: str, payload: bytes) -> bytes:
        """Sign the scope and payload together."""
        digest = hmac.new(self._key, scope.encode() + b"\0" + payload, hashlib.sha256)
        return digest.digest()[:_MAC_SIZE]

    def encode(self, scope: str, epoch: int, offset: int) -> str:
        """Return a token for resuming the listing ``scope`` at ``offset`` in ``epoch``."""
        payload = _PAYLOAD.pack(epoch, offset)
        return base64.urlsafe_b64encode(self._mac(scope, payload) + payload).decode("ascii")

    def decode(self, scope: str, token: str) -> tuple[int, int]:
        """Return (epoch, offset) of a token, or raise TokenError if it is not valid here."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise TokenError("malformed token") from exc
        if len(raw) != _PAYLOAD.size + _MAC_SIZE:
            raise TokenError("malformed token")
        mac, payload = raw[:_MAC_SIZE], raw[_MAC_SIZE:]
        if not hmac.compare_digest(mac, self._mac(scope, payload)):
            raise TokenError("token signature does not match this request")
        epoch, offset = _PAYLOAD.unpack(payload)
        return epoch, offset
