"""HTTP Basic authentication: Account SID + auth token, or API Key SID + secret.

The answer is the account every request is scoped to. Every failure is the same 401 (20003),
whatever was wrong, so the response does not tell which SIDs exist.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import AuthenticationError
from backchannel.chat.sids import ACCOUNT, API_KEY, is_sid
from backchannel.store import accounts, keys
from backchannel.store.crypto import SecretBox


def basic_credentials(header: str | None) -> tuple[str, str]:
    """The username and password of an ``Authorization: Basic`` header."""
    if not header:
        raise AuthenticationError("Authentication required")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 1024:
        raise AuthenticationError("Authenticate")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("Authenticate") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthenticationError("Authenticate")
    return username, password


async def authenticate(conn: AsyncConnection, box: SecretBox, header: str | None) -> str:
    """The Account SID the credentials in ``header`` act for."""
    username, password = basic_credentials(header)
    if is_sid(username, ACCOUNT):
        account = await accounts.authenticate_account(conn, username, password)
        if account is not None:
            return account.sid
    elif is_sid(username, API_KEY):
        account_sid = await keys.authenticate_key(conn, box, username, password)
        if account_sid is not None:
            return account_sid
    raise AuthenticationError("Authenticate")
