"""How CLI commands reach the database: the server's own ``Config``, a migrated ``Store``.

Every command reads ``BACKCHANNEL_*`` through ``Config.from_env`` and may override the database
with ``--database-url``; migrations run first, as they do when the server starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import click

from backchannel.config import Config
from backchannel.store import Store

T = TypeVar("T")


def database_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--database-url",
        metavar="URL",
        help="sqlite:///path or postgresql://… (default: $BACKCHANNEL_DATABASE_URL, "
        "else ./backchannel.db).",
    )(command)


def load_config(
    database_url: str | None = None,
    *,
    env_file_values: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """The server's ``Config``: the environment, then ``env_file_values`` for what it lacks,
    then the command's own flags over both."""
    config = Config.from_env(defaults=env_file_values)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if database_url:
        changes["database_url"] = database_url
    return dataclasses.replace(config, **changes) if changes else config


def run_with_store(config: Config, fn: Callable[[Store], Awaitable[T]]) -> T:
    """``await fn(store)`` on a migrated store, closed afterwards."""

    async def run() -> T:
        store = Store.from_config(config)
        try:
            await store.migrate()
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(run())
