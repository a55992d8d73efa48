"""Offset paging with opaque tokens, stable within the epoch the listing started in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ivs_realtime_emulator.protocol import VALIDATION, ApiError
from ivs_realtime_emulator.tokens import TokenCodec, TokenError

DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: the listing's scope, its epoch, the offset and the page size."""

    scope: str
    epoch: int
    offset: int
    limit: int
    resumed: bool

    def token(self, tokens: TokenCodec, offset: int) -> str:
        """Return the token that resumes this listing at ``offset``."""
        return tokens.encode(self.scope, self.epoch, offset)


def open_cursor(
    tokens: TokenCodec, scope: str, params: Mapping[str, Any], current_epoch: int
) -> Cursor:
    """Start a page from a request's ``nextToken`` and ``maxResults``."""
    limit = params.get("maxResults") or DEFAULT_PAGE_SIZE
    token = params.get("nextToken")
    if not token:
        return Cursor(scope, current_epoch, 0, limit, resumed=False)
    try:
        epoch, offset = tokens.decode(scope, token)
    except TokenError as exc:
        raise ApiError(VALIDATION, f"The provided nextToken is not valid: {exc}") from exc
    return Cursor(scope, epoch, offset, limit, resumed=True)


def page(tokens: TokenCodec, cursor: Cursor, items: Sequence[T]) -> tuple[Sequence[T], str | None]:
    """Return one page of items and the token of the next page, if any."""
    end = cursor.offset + cursor.limit
    chunk = items[cursor.offset : end]
    return chunk, (cursor.token(tokens, end) if end < len(items) else None)
