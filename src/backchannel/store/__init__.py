"""Persistence: SQLAlchemy 2 (async) on SQLite or PostgreSQL, behind one ``Store``.

The query modules (``accounts``, ``keys``, ``services``, ``roles``, …) take an
``AsyncConnection`` already in a transaction: ``async with store.transaction() as conn``. The
few synchronous ones (the live message writer's) take a ``Connection``: ``store.write(fn, …)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backchannel.config import Config
from backchannel.store import db
from backchannel.store.crypto import SecretBox

T = TypeVar("T")


class Store:
    """The engine and the secret box of one process."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self.engine = engine
        self.box = box
        self._writer = db.Writer(engine)

    @classmethod
    def from_config(cls, config: Config) -> Store:
        return cls(
            db.create_engine(config.database_url, echo=config.sql_echo),
            SecretBox(config.load_master_key()),
        )

    async def migrate(self) -> None:
        await db.migrate(self.engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with db.transaction(self.engine) as conn:
            yield conn

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)``, synchronous, in a write transaction (``db.Writer``)."""
        return await self._writer.run(fn, *args)

    async def ping(self) -> None:
        await db.ping(self.engine)

    async def close(self) -> None:
        await self._writer.close()
        await self.engine.dispose()


__all__ = ["Store"]
