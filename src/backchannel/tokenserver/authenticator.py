"""Who is calling: a password login (which opens a session), a session, or an API token.

``Authenticator`` holds the token server's rules; the HTTP layer only reads and writes cookies
and headers. A failed login costs the same whether the user exists or not (a dummy hash is
checked for unknown users) and counts against both the username and the client address; while
either has used up its attempts, logins answer 429 before any password is checked. An attempt
counts from the moment it starts (a right password takes it back), and at most a few argon2
computations run at once, so a burst of parallel guesses neither overruns the limit nor the
memory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from backchannel.config import Config
from backchannel.store import Store, logins
from backchannel.store.logins import LoginUser, NewSession, Session
from backchannel.tokenserver.errors import (
    InvalidCredentialsError,
    TooManyAttemptsError,
    UnauthenticatedError,
)
from backchannel.tokenserver.limits import FailureLimiter
from backchannel.tokenserver.passwords import MAX_PASSWORD_LENGTH, Passwords
from backchannel.tokenserver.users import naive_utc

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: with a ``session`` (cookie) or without one (API token)."""

    user: LoginUser
    session: Session | None
    expires_at: datetime  # of the session or of the API token

    @property
    def via(self) -> str:
        return "session" if self.session is not None else "api_token"


class Authenticator:
    """The token server's authentication; ``store`` is set before the first request."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float],
        passwords: Passwords | None = None,
        store: Store | None = None,
    ) -> None:
        self.clock = clock
        self.passwords = passwords or Passwords()
        self.passwords.prepare()
        self._hashing = asyncio.Semaphore(max(2, os.cpu_count() or 1))
        self.store = store
        self.session_ttl = timedelta(seconds=config.session_ttl)
        self.limiter = FailureLimiter(config.login_attempts, config.login_window, clock)

    def now(self) -> datetime:
        return naive_utc(self.clock())

    def _store(self) -> Store:
        if self.store is None:
            raise RuntimeError("the token server has no store: is its lifespan running?")
        return self.store

    async def login(self, username: str, password: str, address: str) -> NewSession:
        """A new session for the right password; else 401 (or 429 once limited)."""
        user_key, address_key = keys = (f"user:{username.casefold()}", f"address:{address}")
        wait = self.limiter.retry_after(keys)
        if wait:
            raise TooManyAttemptsError(wait)
        # Counted as a failure until proven right, so concurrent guesses cannot overrun the limit.
        self.limiter.record(keys)
        async with self._store().transaction() as conn:
            user = await logins.get_user(conn, username)
        stored = user.password_hash if user is not None else None
        if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_LENGTH:
            stored, password = None, ""  # no such password was ever set; still spend the time
        ok = await self._hash(self.passwords.verify, stored, password)
        if user is None or not ok:
            raise InvalidCredentialsError()
        self.limiter.forget(user_key)
        self.limiter.undo(address_key)
        now = self.now()
        rehashed = None
        if self.passwords.needs_rehash(user.password_hash):
            rehashed = await self._hash(self.passwords.hash, password)
        async with self._store().transaction() as conn:
            if rehashed is not None:
                await logins.set_password_hash(conn, user.id, rehashed, now)
            return await logins.open_session(conn, user, now, now + self.session_ttl)

    async def _hash(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, a few at a time: each argon2 run takes 64 MiB."""
        async with self._hashing:
            return await run_in_threadpool(fn, *args)

    async def session(self, secret: str) -> Session | None:
        async with self._store().transaction() as conn:
            return await logins.find_session(conn, secret, self.now())

    async def logout(self, secret: str) -> bool:
        async with self._store().transaction() as conn:
            return await logins.close_session(conn, secret)

    async def api_token(self, token: str) -> Caller:
        """The owner of a live API token; 401 for an unknown or expired one."""
        async with self._store().transaction() as conn:
            match = await logins.find_api_token(conn, token)
        if match is None:
            raise UnauthenticatedError("the API token is not valid", bearer=True)
        if match.expires_at <= self.now():
            raise UnauthenticatedError("the API token has expired", bearer=True)
        return Caller(match.user, None, match.expires_at)
