"""``/client/v1/…``: endpoints for chat clients, authenticated by an Access Token.

The token travels in the ``X-Twilio-Token`` header and is checked by ``store.access``: its key is
read from the database on every request, so a deleted key's tokens fail
with 20103 at once. The chat grant's service must belong to that account. The first valid token
for an identity creates its user with the service's default service role.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from backchannel.chat.errors import AuthenticationError
from backchannel.store import Store
from backchannel.store.access import verify_chat_token


async def me(request: Request) -> Response:
    token = request.headers.get("x-twilio-token")
    if not token:
        raise AuthenticationError("X-Twilio-Token header is required")
    store: Store = request.app.state.store
    async with store.transaction() as conn:
        principal = await verify_chat_token(conn, store.box, token, request.app.state.clock)
    expires = datetime.fromtimestamp(principal.token.expires_at, UTC)
    return JSONResponse(
        {
            "identity": principal.token.identity,
            "user_sid": principal.user["sid"],
            "service_sid": principal.service["sid"],
            "account_sid": principal.token.account_sid,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


async def live(websocket: WebSocket) -> None:
    """A live session: the protocol of docs/protocol.md, served by the node of this process."""
    await websocket.app.state.node.serve(websocket)


routes = [
    Route("/client/v1/me", me, methods=["GET"]),
    WebSocketRoute("/client/v1/ws", live),
]
