"""Managing the token server's users: add, list, remove, issue API tokens.

What ``backchannel users …`` runs. A username is the chat identity its tokens carry, so it obeys
the identity rules of ``backchannel.tokens`` (1-256 characters, no control characters) and
may not start or end with spaces. Usernames are case-sensitive, as identities are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from backchannel.store import Store, logins
from backchannel.tokens.identity import identity_problem
from backchannel.tokenserver.errors import BadRequestError, TokenServerError
from backchannel.tokenserver.passwords import Passwords, password_problem

MAX_API_TOKEN_DAYS = 3650


class UserExistsError(TokenServerError):
    code = 20001
    status = 409


class NoSuchUserError(TokenServerError):
    code = 20404
    status = 404


def naive_utc(unix_time: float) -> datetime:
    """A Unix time as the store keeps dates: naive UTC, whole seconds."""
    return datetime.fromtimestamp(int(unix_time), UTC).replace(tzinfo=None)


def username_problem(username: str) -> str | None:
    problem = identity_problem(username)
    if problem:
        return problem.replace("identity", "the username", 1)
    if username != username.strip():
        return "the username must not start or end with spaces"
    return None


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    date_created: datetime
    api_tokens: int  # that have not expired


async def add_user(
    store: Store,
    username: str,
    password: str,
    *,
    passwords: Passwords | None = None,
    clock: Callable[[], float],
) -> None:
    for problem in (username_problem(username), password_problem(password)):
        if problem:
            raise BadRequestError(problem)
    hashed = await run_in_threadpool((passwords or Passwords()).hash, password)
    async with store.transaction() as conn:
        if await logins.get_user(conn, username) is not None:
            raise UserExistsError(f"the user {username!r} already exists")
        await logins.create_user(conn, username, hashed, naive_utc(clock()))


async def list_users(store: Store, *, clock: Callable[[], float]) -> list[UserInfo]:
    async with store.transaction() as conn:
        found = await logins.list_users(conn, naive_utc(clock()))
    return [UserInfo(user.username, user.date_created, count) for user, count in found]


async def remove_user(store: Store, username: str) -> None:
    """Remove the user with its sessions and API tokens; chat tokens already minted run out."""
    async with store.transaction() as conn:
        if not await logins.delete_user(conn, username):
            raise NoSuchUserError(f"no user {username!r}")


async def issue_api_token(
    store: Store, username: str, *, days: int, clock: Callable[[], float]
) -> tuple[str, datetime]:
    """A new API token for the user, and when it expires (naive UTC). Shown once."""
    if not 1 <= days <= MAX_API_TOKEN_DAYS:
        raise BadRequestError(f"an API token lives 1 to {MAX_API_TOKEN_DAYS} days, not {days}")
    now = naive_utc(clock())
    expires_at = now + timedelta(days=days)
    async with store.transaction() as conn:
        user = await logins.get_user(conn, username)
        if user is None:
            raise NoSuchUserError(f"no user {username!r}")
        token = await logins.create_api_token(conn, user, now, expires_at)
    return token, expires_at
