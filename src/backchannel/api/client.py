"""``/client/v1/…``: endpoints for chat clients, authenticated by an Access Token.

The token travels in the ``X-Twilio-Token`` header. Its key is looked up in the database on every
request (the key of ``iss``, active, of the account in ``sub``), so a deleted key's tokens fail
with 20103 at once. The chat grant's service must belong to that account. The first valid token
for an identity creates its user with the service's default service role.
"""

from __future__ import annotations

import base64
import binascii
import json as jsonlib
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backchannel.chat.errors import AuthenticationError
from backchannel.store import Store, services, users
from backchannel.store.keys import signing_key
from backchannel.tokens import InvalidGrantsError, SigningKey, TokenVerifier, VerifiedToken

MAX_TOKEN_LENGTH = 16 * 1024


def _claimed_issuer(token: str) -> str | None:
    """The ``iss`` the payload claims, unverified: only used to pick the key to verify with."""
    try:
        payload = token.split(".")[1]
        claims = jsonlib.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


async def _verify(request: Request, conn: Any, store: Store) -> VerifiedToken:
    token = request.headers.get("x-twilio-token")
    if not token:
        raise AuthenticationError("X-Twilio-Token header is required")
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthenticationError("Invalid Access Token", code=20101)
    issuer = _claimed_issuer(token)
    known: dict[str, SigningKey] = {}
    if issuer is not None:
        key = await signing_key(conn, store.box, issuer)
        if key is not None:
            known[issuer] = key
    verifier = TokenVerifier(known, clock=request.app.state.clock)
    return verifier.verify(token)


async def me(request: Request) -> Response:
    store: Store = request.app.state.store
    async with store.transaction() as conn:
        verified = await _verify(request, conn, store)
        if verified.service_sid is None:
            raise InvalidGrantsError("the token has no chat grant")
        service = await services.get_service(conn, verified.account_sid, verified.service_sid)
        if service is None:
            raise InvalidGrantsError("the chat grant's service is not a service of the account")
        user = await users.ensure_user(
            conn, service["sid"], verified.identity, service["default_service_role_sid"]
        )
    expires = datetime.fromtimestamp(verified.expires_at, UTC)
    return JSONResponse(
        {
            "identity": verified.identity,
            "user_sid": user["sid"],
            "service_sid": service["sid"],
            "account_sid": verified.account_sid,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


routes = [Route("/client/v1/me", me, methods=["GET"])]
