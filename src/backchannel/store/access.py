"""Who an Access Token speaks for, checked against the database.

The key named by the token's ``iss`` is read on every call (it must exist, belong to an active
account and be that of ``sub``), so a deleted key's tokens fail with 20103 at once. The chat
grant's service must belong to the key's account. The first valid token for an identity creates
its user, with the service's default service role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.store import services, users
from backchannel.store.crypto import SecretBox
from backchannel.store.keys import signing_key
from backchannel.tokens import InvalidGrantsError, SigningKey, TokenVerifier, VerifiedToken


@dataclass(frozen=True, slots=True)
class ChatPrincipal:
    """A verified token with the service and user it grants."""

    token: VerifiedToken
    service: dict[str, Any]
    user: dict[str, Any]


async def verify_chat_token(
    conn: AsyncConnection, box: SecretBox, token: str, clock: Callable[[], float]
) -> ChatPrincipal:
    """The principal of ``token``, or the ``TokenError`` that refuses it."""
    issuer = TokenVerifier.claimed_issuer(token)
    key = await signing_key(conn, box, issuer)
    known: dict[str, SigningKey] = {issuer: key} if key is not None else {}
    verified = TokenVerifier(known, clock=clock).verify(token)
    if verified.service_sid is None:
        raise InvalidGrantsError("the token has no chat grant")
    service = await services.get_service(conn, verified.account_sid, verified.service_sid)
    if service is None:
        raise InvalidGrantsError("the chat grant's service is not a service of the account")
    user = await users.ensure_user(
        conn, service["sid"], verified.identity, service["default_service_role_sid"]
    )
    return ChatPrincipal(verified, service, user)
