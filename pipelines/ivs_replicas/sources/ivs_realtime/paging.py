"""Every page of a list operation through botocore's own paginator, guarded against loops."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.paginate import Paginator


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
    pages = paginator(client, operation, result_key).paginate(
        **params, PaginationConfig={"PageSize": page_size}
    )
    seen_tokens: set[str] = set()
    for number, page in enumerate(pages, start=1):
        items = page.get(result_key)
        if not isinstance(items, list):
            raise MalformedPageError(f"page {number} has no {result_key} list: unreadable response")
        yield items
        token = page.get("nextToken")
        if not token:
            return
        if token in seen_tokens:
            raise PaginationError(f"nextToken repeated after page {number}: pagination cycles")
        if number >= max_pages:
            raise PaginationError(f"more than {max_pages} pages (max_pages); stopped")
        seen_tokens.add(token)
