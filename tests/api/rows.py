"""Members and messages written straight into the store, the way their endpoints write them.

The Users, Channels and UserChannels tests need memberships and messages without depending on
the Members and Messages endpoints: these insert the rows and move the counters with the same
SQL arithmetic (``col = col + 1``) the store uses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from backchannel.chat.sids import INVITE, MEMBER, MESSAGE, new_sid
from backchannel.store.clock import utcnow
from backchannel.store.tables import channels, invites, members, messages, services, users


def join(server: Any, channel_sid: str, user_sid: str) -> str:
    """Make the user a member of the channel (default channel role); the member's SID."""

    async def run(store: Any) -> str:
        async with store.transaction() as conn:
            user = (await conn.execute(select(users).where(users.c.sid == user_sid))).one()
            role = (
                await conn.execute(
                    select(services.c.default_channel_role_sid).where(
                        services.c.sid == user.service_sid
                    )
                )
            ).scalar_one()
            now = utcnow()
            sid = new_sid(MEMBER)
            await conn.execute(
                insert(members).values(
                    sid=sid,
                    service_sid=user.service_sid,
                    channel_sid=channel_sid,
                    identity=user.identity,
                    user_sid=user_sid,
                    role_sid=role,
                    last_consumed_message_index=None,
                    last_consumption_timestamp=None,
                    attributes="{}",
                    date_created=now,
                    date_updated=now,
                )
            )
            await conn.execute(
                update(channels)
                .where(channels.c.sid == channel_sid)
                .values(members_count=channels.c.members_count + 1)
            )
            await conn.execute(
                update(users)
                .where(users.c.sid == user_sid)
                .values(joined_channels_count=users.c.joined_channels_count + 1)
            )
            return sid

    return server.run_store(run)


def post(server: Any, channel_sid: str, count: int = 1, *, author: str = "system") -> list[str]:
    """Add ``count`` messages to the channel, indexed from its next index; their SIDs."""

    async def run(store: Any) -> list[str]:
        created = []
        async with store.transaction() as conn:
            for _ in range(count):
                channel = (
                    await conn.execute(select(channels).where(channels.c.sid == channel_sid))
                ).one()
                now = utcnow()
                sid = new_sid(MESSAGE)
                await conn.execute(
                    insert(messages).values(
                        {
                            "sid": sid,
                            "service_sid": channel.service_sid,
                            "channel_sid": channel_sid,
                            "index": channel.next_message_index,
                            "from": author,
                            "to": channel_sid,
                            "body": "hello",
                            "attributes": "{}",
                            "was_edited": False,
                            "type": "text",
                            "date_created": now,
                            "date_updated": now,
                        }
                    )
                )
                await conn.execute(
                    update(channels)
                    .where(channels.c.sid == channel_sid)
                    .values(
                        messages_count=channels.c.messages_count + 1,
                        next_message_index=channels.c.next_message_index + 1,
                    )
                )
                created.append(sid)
        return created

    return server.run_store(run)


def invite(server: Any, channel_sid: str, identity: str) -> str:
    async def run(store: Any) -> str:
        async with store.transaction() as conn:
            channel = (
                await conn.execute(select(channels).where(channels.c.sid == channel_sid))
            ).one()
            role = (
                await conn.execute(
                    select(services.c.default_channel_role_sid).where(
                        services.c.sid == channel.service_sid
                    )
                )
            ).scalar_one()
            now = utcnow()
            sid = new_sid(INVITE)
            await conn.execute(
                insert(invites).values(
                    sid=sid,
                    service_sid=channel.service_sid,
                    channel_sid=channel_sid,
                    identity=identity,
                    role_sid=role,
                    created_by="system",
                    date_created=now,
                    date_updated=now,
                )
            )
            return sid

    return server.run_store(run)


def count_rows(server: Any, table: Any, **where: str) -> int:
    """How many rows of ``table`` match the column values given."""

    async def run(store: Any) -> int:
        async with store.transaction() as conn:
            query = select(func.count()).select_from(table)
            for column, value in where.items():
                query = query.where(table.c[column] == value)
            return int((await conn.execute(query)).scalar_one())

    return server.run_store(run)
