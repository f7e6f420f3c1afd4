"""API keys of an account. The secret is returned once, at creation; it is kept encrypted.

``signing_key`` is the lookup the token verifier uses: it reads the database on every call, so
a deleted key stops verifying at once.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.sids import API_KEY, new_sid
from backchannel.store import crypto
from backchannel.store.accounts import ACTIVE
from backchannel.store.clock import utcnow
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import accounts, api_keys
from backchannel.tokens import SigningKey


@dataclass(frozen=True, slots=True)
class ApiKey:
    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: ApiKey
    secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"NewApiKey(key={self.key!r})"


_COLUMNS = (
    api_keys.c.id,
    api_keys.c.sid,
    api_keys.c.account_sid,
    api_keys.c.friendly_name,
    api_keys.c.date_created,
    api_keys.c.date_updated,
)


def _key(row: object) -> ApiKey:
    return ApiKey(**{name: row[name] for name in ApiKey.__slots__})  # type: ignore[index]


async def create_key(
    conn: AsyncConnection, box: crypto.SecretBox, account_sid: str, friendly_name: str = ""
) -> NewApiKey:
    now = utcnow()
    secret = crypto.new_key_secret()
    key = ApiKey(new_sid(API_KEY), account_sid, friendly_name, now, now)
    await conn.execute(
        insert(api_keys).values(
            sid=key.sid,
            account_sid=account_sid,
            friendly_name=friendly_name,
            secret_encrypted=box.encrypt(secret),
            date_created=now,
            date_updated=now,
        )
    )
    return NewApiKey(key, secret)


def _owned(account_sid: str, sid: str):  # type: ignore[no-untyped-def]
    return (api_keys.c.sid == sid) & (api_keys.c.account_sid == account_sid)


async def get_key(conn: AsyncConnection, account_sid: str, sid: str) -> ApiKey | None:
    row = (await conn.execute(select(*_COLUMNS).where(_owned(account_sid, sid)))).mappings().first()
    return _key(row) if row else None


async def list_keys(
    conn: AsyncConnection, account_sid: str, *, size: int, cursor: Cursor | None = None
) -> tuple[list[ApiKey], Page]:
    query = select(*_COLUMNS).where(api_keys.c.account_sid == account_sid)
    page = await fetch_page(conn, query, api_keys.c.id, size=size, cursor=cursor)
    return [_key(row) for row in page.rows], page


async def rename_key(
    conn: AsyncConnection, account_sid: str, sid: str, friendly_name: str
) -> ApiKey | None:
    result = await conn.execute(
        update(api_keys)
        .where(_owned(account_sid, sid))
        .values(friendly_name=friendly_name, date_updated=utcnow())
    )
    return await get_key(conn, account_sid, sid) if result.rowcount else None


async def delete_key(conn: AsyncConnection, account_sid: str, sid: str) -> bool:
    result = await conn.execute(delete(api_keys).where(_owned(account_sid, sid)))
    return bool(result.rowcount)


async def authenticate_key(
    conn: AsyncConnection, box: crypto.SecretBox, sid: str, secret: str
) -> str | None:
    """The account SID of the API key with this SID and secret (its account active), or None."""
    signing = await signing_key(conn, box, sid)
    if signing is None or not hmac.compare_digest(
        signing.secret_bytes(), secret.encode("utf-8", "surrogatepass")
    ):
        return None
    return signing.account_sid


async def signing_key(conn: AsyncConnection, box: crypto.SecretBox, sid: str) -> SigningKey | None:
    """The secret and account of an existing key whose account is active, or None."""
    row = (
        await conn.execute(
            select(api_keys.c.secret_encrypted, api_keys.c.account_sid)
            .join(accounts, accounts.c.sid == api_keys.c.account_sid)
            .where(api_keys.c.sid == sid, accounts.c.status == ACTIVE)
        )
    ).first()
    if row is None:
        return None
    return SigningKey(secret=box.decrypt(row.secret_encrypted), account_sid=row.account_sid)
