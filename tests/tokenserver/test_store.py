"""The token server's tables on each backend: migration 0003, secrets kept hashed, cascades."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from backchannel.store import logins
from backchannel.store.tables import (
    metadata,
    tokenserver_api_tokens,
    tokenserver_sessions,
    tokenserver_users,
)

NOW = datetime(2026, 1, 1, 12, 0, 0)


def test_migration_0003_matches_the_tables(store_factory):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"render_as_batch": True})
        return compare_metadata(context, metadata)

    async def scenario():
        async with store_factory() as store, store.engine.connect() as conn:
            return await conn.run_sync(diff)

    ours = [d for d in asyncio.run(scenario()) if "tokenserver" in repr(d)]
    assert ours == []


def test_secrets_are_kept_hashed_and_removing_a_user_removes_the_rest(store_factory):
    name = f"erin-{secrets.token_hex(4)}"

    async def scenario():
        async with store_factory() as store:
            async with store.transaction() as conn:
                user = await logins.create_user(conn, name, "$argon2id$…", NOW)
                new = await logins.open_session(conn, user, NOW, NOW + timedelta(hours=1))
                token = await logins.create_api_token(conn, user, NOW, NOW + timedelta(days=1))
                stored = [
                    *(await conn.execute(select(tokenserver_sessions.c.id_hash))).scalars(),
                    *(await conn.execute(select(tokenserver_api_tokens.c.token_hash))).scalars(),
                ]
                found = await logins.find_session(conn, new.secret, NOW)
                later = await logins.find_session(conn, new.secret, NOW + timedelta(hours=1))
                match = await logins.find_api_token(conn, token)
                assert await logins.delete_user(conn, name)
                left = [
                    (await conn.execute(
                        select(func.count()).select_from(table).where(table.c.user_id == user.id)
                    )).scalar_one()
                    for table in (tokenserver_sessions, tokenserver_api_tokens)
                ]
                gone = await logins.find_api_token(conn, token)
                users_left = (await conn.execute(
                    select(func.count()).select_from(tokenserver_users)
                    .where(tokenserver_users.c.username == name)
                )).scalar_one()
            return new, token, stored, found, later, match, left, gone, users_left

    new, token, stored, found, later, match, left, gone, users_left = asyncio.run(scenario())
    assert new.secret not in stored and token not in stored
    assert new.secret not in repr(new) and "argon2" not in repr(found)
    assert found is not None and found.user.username == name
    assert later is None  # expired at its expiry
    assert match is not None and match.user.username == name
    assert left == [0, 0] and gone is None and users_left == 0
