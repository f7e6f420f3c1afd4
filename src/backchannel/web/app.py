"""The chat web app's server side: the page at ``/`` and the one read it needs that the live
protocol does not offer yet.

- ``GET /`` — ``static/app.html``, the chat web app (plain HTML, ``/static/app.css`` and the ES
  module ``/static/app.js``, which uses ``/static/backchannel.js``). The page signs in through the
  token server at ``/auth`` (its session cookie is scoped to ``/auth``, so the page asks
  ``GET /auth/me`` and shows its sign-in form when that answers 401).
- ``GET /app/channels/{channel}/members`` — the channel's members with their user's
  ``friendly_name`` and ``is_online``, for the "who is online" list. Authenticated by the chat
  token in ``X-Twilio-Token`` (as ``/client/v1/me``), for members of the channel only (else
  50107). The protocol has no ``getMembers`` command; when it does, the app can use that and this
  route can go.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from backchannel.chat.errors import (
    AuthenticationError,
    ChannelNotFoundError,
    NotAuthorizedError,
)
from backchannel.store import Store
from backchannel.store.access import verify_chat_token
from backchannel.store.channels import get_channel
from backchannel.store.members import get_member_by_identity
from backchannel.store.tables import members, users

MAX_MEMBERS = 1000


def _page_html() -> str:
    return resources.files("backchannel.web").joinpath("static/app.html").read_text("utf-8")


def _csp(request: Request) -> str:
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if host else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'; object-src 'none'"
    )


async def index(request: Request) -> Response:
    return HTMLResponse(
        _page_html(),
        headers={
            "Content-Security-Policy": _csp(request),
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-cache",
        },
    )


async def channel_members(request: Request) -> Response:
    token = request.headers.get("x-twilio-token")
    if not token:
        raise AuthenticationError("X-Twilio-Token header is required")
    key = request.path_params["channel"]
    store: Store = request.app.state.store
    async with store.transaction() as conn:
        principal = await verify_chat_token(conn, store.box, token, request.app.state.clock)
        service = principal.service
        channel = await get_channel(conn, service["sid"], key)
        if channel is None:
            raise ChannelNotFoundError(f"Channel {key[:64]} not found")
        if await get_member_by_identity(conn, channel["sid"], principal.token.identity) is None:
            raise NotAuthorizedError("User not authorized for command")
        query = (
            select(
                members.c.identity,
                members.c.last_consumed_message_index,
                users.c.friendly_name,
                users.c.is_online,
            )
            .join(users, users.c.sid == members.c.user_sid)
            .where(members.c.channel_sid == channel["sid"])
            .order_by(members.c.id)
            .limit(MAX_MEMBERS)
        )
        rows = (await conn.execute(query)).mappings().all()
    reachable = bool(service["reachability_enabled"])
    found: list[dict[str, Any]] = [
        {
            "identity": row["identity"],
            "friendly_name": row["friendly_name"],
            "is_online": row["is_online"] if reachable else None,
            "last_consumed_message_index": row["last_consumed_message_index"],
        }
        for row in rows
    ]
    return JSONResponse(
        {"channel_sid": channel["sid"], "reachability_enabled": reachable, "members": found},
        headers={"Cache-Control": "no-store"},
    )


# Not part of the REST API: left out of /openapi.json, as the token server at /auth is.
routes = [
    Route("/", index, methods=["GET"], include_in_schema=False),
    Route(
        "/app/channels/{channel}/members",
        channel_members,
        methods=["GET"],
        include_in_schema=False,
    ),
]
