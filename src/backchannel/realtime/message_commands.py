"""Live commands on messages: send, page through, edit, remove; typing; the read horizon.

``sendMessage`` goes through the node's ``MessageWriter`` (``realtime.message_writer``), which
batches sends; what a send is and how one is authorized are here.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from backchannel.chat import messages as message_rules
from backchannel.chat import validation
from backchannel.chat.errors import MessageNotFoundError
from backchannel.chat.sids import CHANNEL, is_sid
from backchannel.realtime import events, objects
from backchannel.realtime.commands import (
    Acting,
    acting,
    attributes_arg,
    command,
    form,
    int_arg,
    text_arg,
)
from backchannel.realtime.protocol import BadRequestError
from backchannel.realtime.session import Session
from backchannel.store import db
from backchannel.store import members as member_store
from backchannel.store import messages as message_store
from backchannel.store.clock import utcnow
from backchannel.store.tables import channels, members, messages, roles
from backchannel.store.text import could_be_name

MAX_KEY = 64
MAX_PAGE = 100
_COLUMNS = tuple(c for c in messages.c if c.name != "id")


@dataclass(slots=True)
class NewMessage:
    """A ``sendMessage``'s arguments, read and validated."""

    channel: str  # the channel argument: a SID or a unique name
    key: str | None
    values: dict[str, Any]  # the new message's columns but SID, channel and index


def read_new_message(session: Session, args: dict[str, Any], now: datetime) -> NewMessage:
    channel = text_arg(args, "channel", required=True)
    assert channel is not None
    body = text_arg(args, "body", required=True)
    key = text_arg(args, "key")
    if key is not None and not (0 < len(key) <= MAX_KEY and "\x00" not in key):
        raise BadRequestError(f"key must be 1 to {MAX_KEY} characters, without NUL")
    attributes = attributes_arg(args)
    new = message_rules.new_message(form(Body=body), now)
    values = {**new, "from": session.identity, "key": key}
    if attributes is not None:  # encoded from the object sent: a JSON object, so only its size
        values["attributes"] = validation.attributes_size(attributes)
    return NewMessage(channel, key, values)


def message_by_key(
    conn: Connection, channel_sid: str, identity: str, key: str
) -> dict[str, Any] | None:
    """The message ``identity`` sent with ``key`` in the channel, if there is one."""
    row = (
        conn.execute(
            select(*_COLUMNS).where(
                messages.c.channel_sid == channel_sid,
                messages.c["from"] == identity,
                messages.c.key == key,
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _may_send(column: Any) -> Any:
    """The channel's SID and the member's channel-role permissions, by ``column`` = :key."""
    return (
        select(channels.c.sid, roles.c.permissions)
        .join(
            members,
            (members.c.channel_sid == channels.c.sid)
            & (members.c.identity == bindparam("identity")),
        )
        .join(
            roles,
            (roles.c.sid == members.c.role_sid) & (roles.c.service_sid == bindparam("service")),
        )
        .where(channels.c.service_sid == bindparam("service"), column == bindparam("key"))
    )


# Built once: a send costs this query, not the building of it.
_MAY_SEND_BY_SID = _may_send(channels.c.sid)
_MAY_SEND_BY_NAME = _may_send(channels.c.unique_name)


def member_may_send(conn: Connection, service_sid: str, identity: str, key: str) -> str | None:
    """The SID of the channel ``key`` names when ``identity`` is a member whose channel role
    grants sendMessage; None when that does not say yes.

    One query where the general path (``sending_channel``) takes four; it only ever says yes
    where that would, and None leaves the send to it, which decides every other case (not
    found, not a member, a service role that grants it).
    """
    by_sid = is_sid(key, CHANNEL)
    if not could_be_name(key, channels.c.sid if by_sid else channels.c.unique_name):
        return None
    query = _MAY_SEND_BY_SID if by_sid else _MAY_SEND_BY_NAME
    rows = db.fetch(conn, query, {"service": service_sid, "identity": identity, "key": key})
    if not rows:
        return None
    channel_sid, permissions = rows[0]
    return str(channel_sid) if "sendMessage" in json.loads(permissions) else None


async def sending_channel(act: Acting, key: str) -> str:
    """The SID of the channel ``key`` names if the caller may send to it; else the error."""
    session = act.session
    service_sid = session.service["sid"]
    channel_sid = await act.conn.run_sync(member_may_send, service_sid, session.identity, key)
    if channel_sid is None:
        channel = await act.channel({"channel": key})
        await act.require("sendMessage", await act.member(channel))
        channel_sid = channel["sid"]
    return channel_sid


async def send_one(session: Session, new: NewMessage) -> tuple[dict[str, Any], bool]:
    """Send one message in a transaction of its own: the message, and whether it is new.

    ``sendMessage`` requests are written in batches (``realtime.message_writer``); a send whose
    batch could not be committed, or that the batch's one-query check did not allow, takes
    this path.
    """
    for attempt in (1, 2):
        try:
            async with acting(session) as act:
                channel_sid = await sending_channel(act, new.channel)
                if new.key is not None:
                    existing = await act.conn.run_sync(
                        message_by_key, channel_sid, session.identity, new.key
                    )
                    if existing is not None:
                        return existing, False
                message = await message_store.create_message(
                    act.conn, session.service["sid"], channel_sid, new.values
                )
            return message, True
        except IntegrityError:
            # The same key committed by a concurrent retry: the second pass returns it.
            if attempt == 2 or new.key is None:
                raise
    raise AssertionError("unreachable")


@command("getMessages")
async def get_messages(session: Session, args: dict[str, Any]) -> Any:
    size = min(int_arg(args, "page_size") or 30, MAX_PAGE)
    anchor = int_arg(args, "anchor")
    direction = text_arg(args, "direction") or "backwards"
    if direction not in ("backwards", "forwards"):
        raise BadRequestError("direction must be 'backwards' or 'forwards'")
    index = messages.c["index"]
    async with acting(session) as act:
        channel = await act.channel(args)
        await act.member(channel)
        query = select(*_COLUMNS).where(messages.c.channel_sid == channel["sid"])
        if direction == "backwards":
            if anchor is not None:
                query = query.where(index <= anchor)
            query = query.order_by(index.desc())
        else:
            if anchor is not None:
                query = query.where(index >= anchor)
            query = query.order_by(index.asc())
        rows = [dict(row) for row in (await act.conn.execute(query.limit(size + 1))).mappings()]
    has_next = len(rows) > size
    rows = rows[:size]
    rows.sort(key=lambda row: row["index"])
    return {"items": [objects.message(row) for row in rows], "has_next_page": has_next}


async def _message(act: Acting, channel: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    wanted = int_arg(args, "index", required=True)
    row = (
        (
            await act.conn.execute(
                select(*_COLUMNS).where(
                    messages.c.channel_sid == channel["sid"], messages.c["index"] == wanted
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise MessageNotFoundError(f"Message {wanted} not found")
    return dict(row)


@command("updateMessage")
async def update_message(session: Session, args: dict[str, Any]) -> Any:
    params = form(Body=text_arg(args, "body"), Attributes=attributes_arg(args))
    async with acting(session) as act:
        channel = await act.channel(args)
        member = await act.member(channel)
        message = await _message(act, channel, args)
        whose = "Own" if message["from"] == session.identity else "Any"
        if "Body" in params:
            await act.require(f"edit{whose}Message", member)
        if "Attributes" in params:
            await act.require(f"edit{whose}MessageAttributes", member)
        changes = message_rules.message_changes(message, params, utcnow())
        changes["last_updated_by"] = session.identity
        updated = await message_store.update_message(
            act.conn, channel["sid"], message["sid"], changes
        )
        assert updated is not None
        act.publish(events.message_updated(updated))
    return {"message": objects.message(updated)}


@command("removeMessage")
async def remove_message(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        channel = await act.channel(args)
        member = await act.member(channel)
        message = await _message(act, channel, args)
        whose = "Own" if message["from"] == session.identity else "Any"
        await act.require(f"delete{whose}Message", member)
        await message_store.delete_message(act.conn, channel["sid"], message["sid"])
        act.publish(events.message_removed(message))
    return {}


def stop_typing(session: Session, channel_sid: str) -> list[events.Publication]:
    timer = session.typing.pop(channel_sid, None)
    if timer is None:
        return []
    timer.cancel()
    return events.typing(channel_sid, session.identity, started=False)


@command("typing")
async def typing(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        channel = await act.channel(args)
        await act.member(channel)
    channel_sid = channel["sid"]
    timer = session.typing.pop(channel_sid, None)
    if timer is None:
        await session.node.publish(events.typing(channel_sid, session.identity, started=True))
    else:
        timer.cancel()

    def ended() -> None:
        publications = stop_typing(session, channel_sid)
        asyncio.get_running_loop().create_task(session.node.publish(publications))

    timeout = session.service["typing_indicator_timeout"]
    session.typing[channel_sid] = asyncio.get_running_loop().call_later(timeout, ended)
    return {}


@command("updateLastConsumedMessageIndex")
async def update_last_consumed_message_index(session: Session, args: dict[str, Any]) -> Any:
    if "index" not in args:
        raise BadRequestError("index is required (a message index, or null for none)")
    consumed = int_arg(args, "index")
    async with acting(session) as act:
        channel = await act.channel(args)
        member = await act.member(channel)
        changes = {"last_consumed_message_index": consumed, "last_consumption_timestamp": utcnow()}
        updated = await member_store.update_member(act.conn, channel["sid"], member["sid"], changes)
        assert updated is not None
        unread_query = select(func.count()).where(messages.c.channel_sid == channel["sid"])
        if consumed is not None:
            unread_query = unread_query.where(messages.c["index"] > consumed)
        unread = (await act.conn.execute(unread_query)).scalar_one()
        act.publish(events.member_updated(updated))
    return {"last_consumed_message_index": consumed, "unread_count": unread}
