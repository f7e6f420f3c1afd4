"""Twilio's list envelope: ``{"<key>": [...], "meta": {page, page_size, …_url, key}}``.

``PageSize`` is 1..1000 (default 50); ``Page`` is the client's page number, echoed back;
``PageToken`` is the opaque keyset cursor of ``store.paging``. The 2010 API (Keys) has its own
shape, ``page_response_2010``. Every URL in ``meta`` is absolute
on this server and keeps the list's other query parameters (filters, ``Order``), so following
``next_page_url`` continues the same list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from backchannel.api.calls import Call, json
from backchannel.chat.validation import parse_int
from backchannel.store.paging import Cursor, Page

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PAGING = ("PageSize", "Page", "PageToken")


@dataclass(frozen=True, slots=True)
class PageRequest:
    size: int
    number: int
    cursor: Cursor | None


def page_request(call: Call) -> PageRequest:
    size_text = call.get("PageSize")
    number_text = call.get("Page")
    token = call.get("PageToken")
    size = (
        DEFAULT_PAGE_SIZE
        if size_text is None
        else parse_int("PageSize", size_text, minimum=1, maximum=MAX_PAGE_SIZE)
    )
    number = 0 if number_text is None else parse_int("Page", number_text, maximum=10**9)
    cursor = Cursor.from_token(token) if token else None
    return PageRequest(size, number, cursor)


def _query(call: Call, request: PageRequest, number: int, cursor: Cursor | None) -> str:
    others = [(k, v) for k, values in call.params.items() if k not in _PAGING for v in values]
    query = [*others, ("PageSize", str(request.size)), ("Page", str(number))]
    if cursor is not None:
        query.append(("PageToken", cursor.token()))
    return f"{call.request.url.path}?{urlencode(query)}"


def page_response(
    call: Call, key: str, items: Sequence[Mapping[str, Any]], page: Page, request: PageRequest
) -> Response:
    def url(number: int, cursor: Cursor | None) -> str:
        return call.base_url + _query(call, request, number, cursor)

    meta = {
        "page": request.number,
        "page_size": request.size,
        "first_page_url": url(0, None),
        "previous_page_url": (
            url(max(request.number - 1, 0), page.previous) if page.previous else None
        ),
        "url": url(request.number, request.cursor),
        "next_page_url": url(request.number + 1, page.next) if page.next else None,
        "key": key,
    }
    return json({key: list(items), "meta": meta})


def page_response_2010(
    call: Call, key: str, items: Sequence[Mapping[str, Any]], page: Page, request: PageRequest
) -> Response:
    """The 2010 API's list shape: paging fields beside the list, URIs relative to the server."""
    start = request.number * request.size
    return json(
        {
            key: list(items),
            "page": request.number,
            "page_size": request.size,
            "start": start,
            "end": start + max(len(items) - 1, 0),
            "uri": _query(call, request, request.number, request.cursor),
            "first_page_uri": _query(call, request, 0, None),
            "previous_page_uri": (
                _query(call, request, max(request.number - 1, 0), page.previous)
                if page.previous
                else None
            ),
            "next_page_uri": (
                _query(call, request, request.number + 1, page.next) if page.next else None
            ),
        }
    )
