"""Accounts: the tenants. The auth token is returned once, at creation; only its hash is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.sids import ACCOUNT, new_sid
from backchannel.store import crypto
from backchannel.store.clock import utcnow
from backchannel.store.tables import accounts

ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    friendly_name: str
    status: str
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    auth_token: str

    def __repr__(self) -> str:  # never show the token
        return f"NewAccount(account={self.account!r})"


_COLUMNS = (
    accounts.c.sid,
    accounts.c.friendly_name,
    accounts.c.status,
    accounts.c.date_created,
    accounts.c.date_updated,
)


async def create_account(conn: AsyncConnection, friendly_name: str) -> NewAccount:
    now = utcnow()
    token = crypto.new_auth_token()
    account = Account(new_sid(ACCOUNT), friendly_name, ACTIVE, now, now)
    await conn.execute(
        insert(accounts).values(
            sid=account.sid,
            friendly_name=friendly_name,
            auth_token_hash=crypto.hash_token(token),
            status=ACTIVE,
            date_created=now,
            date_updated=now,
        )
    )
    return NewAccount(account, token)


async def get_account(conn: AsyncConnection, sid: str) -> Account | None:
    row = (await conn.execute(select(*_COLUMNS).where(accounts.c.sid == sid))).mappings().first()
    return Account(**row) if row else None


async def list_accounts(conn: AsyncConnection) -> list[Account]:
    rows = await conn.execute(select(*_COLUMNS).order_by(accounts.c.id))
    return [Account(**row) for row in rows.mappings()]


async def authenticate_account(conn: AsyncConnection, sid: str, auth_token: str) -> Account | None:
    """The active account whose SID and auth token these are, or None."""
    row = (
        (await conn.execute(select(*_COLUMNS, accounts.c.auth_token_hash).where(
            accounts.c.sid == sid
        )))
        .mappings()
        .first()
    )
    # Compare even when the account is missing, so timing does not tell which part was wrong.
    stored = row["auth_token_hash"] if row else "0" * 64
    if not crypto.token_matches(auth_token, stored) or row is None or row["status"] != ACTIVE:
        return None
    return Account(**{key: row[key] for key in Account.__slots__})
