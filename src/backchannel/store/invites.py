"""Invites to a channel: at most one per identity; adding the member consumes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backchannel.chat.errors import InviteExistsError, MemberExistsError
from backchannel.chat.sids import INVITE, new_sid
from backchannel.store.clock import utcnow
from backchannel.store.members import get_member_by_identity
from backchannel.store.paging import Cursor, Page, fetch_page
from backchannel.store.tables import invites

_COLUMNS = tuple(c for c in invites.c if c.name != "id")


def _exists_error(identity: str) -> InviteExistsError:
    return InviteExistsError(f"User {identity[:64]!r} is already invited to this channel")


async def create_invite(
    conn: AsyncConnection,
    service_sid: str,
    channel_sid: str,
    identity: str,
    role_sid: str,
    created_by: str | None,
) -> dict[str, Any]:
    """Invite ``identity``: ``InviteExistsError`` when it already has an invite here,
    ``MemberExistsError`` when it is already a member."""
    if await find_invite(conn, channel_sid, identity) is not None:
        raise _exists_error(identity)
    if await get_member_by_identity(conn, channel_sid, identity) is not None:
        raise MemberExistsError(f"Member {identity[:64]!r} already exists in this channel")
    now = utcnow()
    row: dict[str, Any] = {
        "sid": new_sid(INVITE),
        "service_sid": service_sid,
        "channel_sid": channel_sid,
        "identity": identity,
        "role_sid": role_sid,
        "created_by": created_by,
        "date_created": now,
        "date_updated": now,
    }
    try:
        async with conn.begin_nested():
            await conn.execute(insert(invites).values(**row))
    except IntegrityError:
        raise _exists_error(identity) from None
    created = await get_invite(conn, channel_sid, row["sid"])
    assert created is not None  # inserted by this transaction
    return created


async def find_invite(
    conn: AsyncConnection, channel_sid: str, identity: str
) -> dict[str, Any] | None:
    """The pending invite of ``identity`` to the channel, or None."""
    query = select(*_COLUMNS).where(
        invites.c.channel_sid == channel_sid, invites.c.identity == identity
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def get_invite(conn: AsyncConnection, channel_sid: str, sid: str) -> dict[str, Any] | None:
    query = select(*_COLUMNS).where(invites.c.channel_sid == channel_sid, invites.c.sid == sid)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_invites(
    conn: AsyncConnection,
    channel_sid: str,
    *,
    identities: Sequence[str] = (),
    size: int,
    cursor: Cursor | None = None,
) -> tuple[list[dict[str, Any]], Page]:
    """Invites in the order they were made; only those for ``identities`` if given."""
    query = select(invites.c.id, *_COLUMNS).where(invites.c.channel_sid == channel_sid)
    if identities:
        query = query.where(invites.c.identity.in_(list(identities)))
    page = await fetch_page(conn, query, invites.c.id, size=size, cursor=cursor)
    return [_invite(row) for row in page.rows], page


def _invite(row: Mapping[Any, Any]) -> dict[str, Any]:
    invite = dict(row)
    invite.pop("id", None)
    return invite


async def delete_invite(conn: AsyncConnection, channel_sid: str, sid: str) -> bool:
    result = await conn.execute(
        delete(invites).where(invites.c.channel_sid == channel_sid, invites.c.sid == sid)
    )
    return bool(result.rowcount)
