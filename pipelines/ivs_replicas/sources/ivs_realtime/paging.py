"""Every page of a list operation through botocore's own paginator, guarded against loops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from botocore.paginate import Paginator, TokenEncoder

READS_PER_PAGE = 3
"""Reads of one page, the first included, before an unreadable answer fails its listing."""


class PaginationError(Exception):
    """Pagination that cycles or runs past the page cap."""

    code = "PaginationError"


class MalformedPageError(Exception):
    """A page without its required result list: botocore parses an unreadable body so."""

    code = "ResponseParserError"


def paginator(client: Any, operation: str, result_key: str) -> Any:
    """botocore's paginator of an operation, built from its model when botocore ships none."""
    method_name = client.meta.method_to_api_mapping
    snake = next(name for name, api in method_name.items() if api == operation)
    if client.can_paginate(snake):
        return client.get_paginator(snake)
    config = {
        "input_token": "nextToken",
        "output_token": "nextToken",
        "limit_key": "maxResults",
        "result_key": result_key,
    }
    model = client.meta.service_model.operation_model(operation)
    return Paginator(getattr(client, snake), config, model)


def iterate_pages(
    client: Any,
    operation: str,
    result_key: str,
    page_size: int,
    max_pages: int,
    **params: Any,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the result list of every page; fail on a repeated token or too many pages."""
    for page in iterate_responses(client, operation, result_key, page_size, max_pages, **params):
        yield page[result_key]


def iterate_responses(
    client: Any,
    operation: str,
    result_key: str,
    page_size: int,
    max_pages: int,
    reads_per_page: int = 1,
    on_page_retry: Callable[[], None] | None = None,
    **params: Any,
) -> Iterator[dict[str, Any]]:
    """Yield every page as botocore parsed it; fail on a repeated token or too many pages.

    An unreadable page is read again with the same `nextToken` (botocore's paginator resumed
    from it), up to `reads_per_page` reads in all; `on_page_retry` counts each extra read.
    """
    pages = paginator(client, operation, result_key)
    seen_tokens: set[str] = set()
    token: str | None = None
    number, reads = 1, 0
    responses = resume(pages, token, page_size, params)
    while True:
        try:
            page = next(responses, None)
            if page is not None and not isinstance(page.get(result_key), list):
                raise MalformedPageError(
                    f"page {number} has no {result_key} list: unreadable response"
                )
        except MalformedPageError:
            reads += 1
            if reads >= reads_per_page:
                raise
            if on_page_retry is not None:
                on_page_retry()
            responses = resume(pages, token, page_size, params)
            continue
        if page is None:
            return
        yield page
        token = page.get("nextToken")
        if not token:
            return
        if token in seen_tokens:
            raise PaginationError(f"nextToken repeated after page {number}: pagination cycles")
        if number >= max_pages:
            raise PaginationError(f"more than {max_pages} pages (max_pages); stopped")
        seen_tokens.add(token)
        number, reads = number + 1, 0


def resume(
    pages: Any, token: str | None, page_size: int, params: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The paginator's pages from the one `token` asks for (the first when None)."""
    config: dict[str, Any] = {"PageSize": page_size}
    if token:
        config["StartingToken"] = TokenEncoder().encode({"nextToken": token})
    return iter(pages.paginate(**params, PaginationConfig=config))
