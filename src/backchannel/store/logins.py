"""The token server's users, their login sessions and their API tokens.

Passwords arrive here already hashed (argon2, by ``backchannel.tokenserver.passwords``). Session
ids and API tokens are 256 random bits, returned once when created and kept only as SHA-256
hashes, so a copy of the database lets no one in. Times are naive UTC datetimes, passed in by the
caller (the token server reads them from its one clock). Removing a user removes its sessions and
API tokens (ON DELETE CASCADE).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.store.crypto import hash_token
from backchannel.store.tables import (
    tokenserver_api_tokens,
    tokenserver_sessions,
    tokenserver_users,
)

API_TOKEN_PREFIX = "bcat_"  # noqa: S105 - recognisable in logs and by secret scanners


@dataclass(frozen=True, slots=True)
class LoginUser:
    id: int
    username: str
    password_hash: str
    date_created: datetime

    def __repr__(self) -> str:  # the hash stays out of logs
        return f"LoginUser(id={self.id!r}, username={self.username!r})"


@dataclass(frozen=True, slots=True)
class Session:
    """A live login session; ``csrf_token`` is the synchronizer token bound to it."""

    user: LoginUser
    csrf_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"Session(user={self.user!r}, expires_at={self.expires_at!r})"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: ``secret`` goes into the cookie and is not kept."""

    secret: str
    session: Session

    def __repr__(self) -> str:
        return f"NewSession(session={self.session!r})"


@dataclass(frozen=True, slots=True)
class ApiTokenMatch:
    """The user an API token belongs to, and when the token stops (or stopped) working."""

    user: LoginUser
    expires_at: datetime


_USER_COLUMNS = (
    tokenserver_users.c.id,
    tokenserver_users.c.username,
    tokenserver_users.c.password_hash,
    tokenserver_users.c.date_created,
)


def _user(row: object) -> LoginUser:
    return LoginUser(*(row[i] for i in range(4)))  # type: ignore[index]


async def create_user(
    conn: AsyncConnection, username: str, password_hash: str, now: datetime
) -> LoginUser:
    result = await conn.execute(
        insert(tokenserver_users)
        .values(
            username=username, password_hash=password_hash, date_created=now, date_updated=now
        )
        .returning(tokenserver_users.c.id)
    )
    return LoginUser(result.scalar_one(), username, password_hash, now)


async def get_user(conn: AsyncConnection, username: str) -> LoginUser | None:
    row = (
        await conn.execute(
            select(*_USER_COLUMNS).where(tokenserver_users.c.username == username)
        )
    ).first()
    return None if row is None else _user(row)


async def list_users(conn: AsyncConnection, now: datetime) -> list[tuple[LoginUser, int]]:
    """Every user, by name, with its count of API tokens that have not expired."""
    live = (
        select(func.count())
        .where(tokenserver_api_tokens.c.user_id == tokenserver_users.c.id)
        .where(tokenserver_api_tokens.c.expires_at > now)
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(*_USER_COLUMNS, live).order_by(tokenserver_users.c.username)
    )
    return [(_user(row), row[4]) for row in rows]


async def delete_user(conn: AsyncConnection, username: str) -> bool:
    result = await conn.execute(
        delete(tokenserver_users).where(tokenserver_users.c.username == username)
    )
    return result.rowcount > 0


async def set_password_hash(
    conn: AsyncConnection, user_id: int, password_hash: str, now: datetime
) -> None:
    await conn.execute(
        update(tokenserver_users)
        .where(tokenserver_users.c.id == user_id)
        .values(password_hash=password_hash, date_updated=now)
    )


async def open_session(
    conn: AsyncConnection, user: LoginUser, now: datetime, expires_at: datetime
) -> NewSession:
    """A new session for ``user``; sessions that have run out are swept at the same time."""
    await conn.execute(
        delete(tokenserver_sessions).where(tokenserver_sessions.c.expires_at <= now)
    )
    secret = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    await conn.execute(
        insert(tokenserver_sessions).values(
            id_hash=hash_token(secret),
            user_id=user.id,
            csrf_token=csrf_token,
            date_created=now,
            expires_at=expires_at,
        )
    )
    return NewSession(secret, Session(user, csrf_token, expires_at))


async def find_session(conn: AsyncConnection, secret: str, now: datetime) -> Session | None:
    """The session whose cookie holds ``secret``, unless it has run out or was closed."""
    row = (
        await conn.execute(
            select(
                *_USER_COLUMNS,
                tokenserver_sessions.c.csrf_token,
                tokenserver_sessions.c.expires_at,
            )
            .join(tokenserver_users, tokenserver_users.c.id == tokenserver_sessions.c.user_id)
            .where(tokenserver_sessions.c.id_hash == hash_token(secret))
            .where(tokenserver_sessions.c.expires_at > now)
        )
    ).first()
    return None if row is None else Session(_user(row), row[4], row[5])


async def close_session(conn: AsyncConnection, secret: str) -> bool:
    result = await conn.execute(
        delete(tokenserver_sessions).where(tokenserver_sessions.c.id_hash == hash_token(secret))
    )
    return result.rowcount > 0


async def create_api_token(
    conn: AsyncConnection, user: LoginUser, now: datetime, expires_at: datetime
) -> str:
    """A new API token for ``user``; it is returned once, only its hash is kept."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        insert(tokenserver_api_tokens).values(
            token_hash=hash_token(token), user_id=user.id, date_created=now, expires_at=expires_at
        )
    )
    return token


async def find_api_token(conn: AsyncConnection, token: str) -> ApiTokenMatch | None:
    """Whose token this is, expired or not; None when no such token exists."""
    row = (
        await conn.execute(
            select(*_USER_COLUMNS, tokenserver_api_tokens.c.expires_at)
            .join(tokenserver_users, tokenserver_users.c.id == tokenserver_api_tokens.c.user_id)
            .where(tokenserver_api_tokens.c.token_hash == hash_token(token))
        )
    ).first()
    return None if row is None else ApiTokenMatch(_user(row), row[4])
