"""Live commands on channels and their members: create, join, leave, add, invite, remove, …"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from backchannel.chat import channels as channel_rules
from backchannel.chat import membership
from backchannel.chat.errors import MemberNotFoundError, NotAuthorizedError
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
from backchannel.store import channels as channel_store
from backchannel.store import invites as invite_store
from backchannel.store import members as member_store
from backchannel.store.clock import utcnow
from backchannel.store.tables import channels, members

MAX_PAGE = 100


async def _add(
    act: Acting, channel: dict[str, Any], identity: str, role_sid: str
) -> dict[str, Any]:
    service = act.session.service
    values = membership.new_member(form(Identity=identity), utcnow())
    member = await member_store.add_member(
        act.conn,
        service=service,
        channel_sid=channel["sid"],
        values={**values, "role_sid": role_sid},
        channel_members_limit=membership.channel_members_limit(service),
        user_channels_limit=membership.user_channels_limit(service),
    )
    fresh = await channel_store.get_channel(act.conn, service["sid"], channel["sid"])
    assert fresh is not None
    act.publish(events.member_joined(member, fresh))
    return member


async def _remove(act: Acting, channel: dict[str, Any], member: dict[str, Any]) -> None:
    if not await member_store.remove_member(act.conn, channel["sid"], member["sid"]):
        raise MemberNotFoundError("Member not found")
    act.publish(events.member_left(member, channel))


@command("createChannel")
async def create_channel(session: Session, args: dict[str, Any]) -> Any:
    kind = text_arg(args, "type")
    params = form(
        FriendlyName=text_arg(args, "friendly_name"),
        UniqueName=text_arg(args, "unique_name"),
        Type=kind,
        Attributes=attributes_arg(args),
        CreatedBy=session.identity,
    )
    async with acting(session) as act:
        await act.require("createChannel")
        values = channel_rules.creation(params, utcnow())
        channel = await channel_store.create_channel(act.conn, session.service["sid"], values)
        act.publish(events.channel_added(channel))
        creator_role = session.service["default_channel_creator_role_sid"]
        await _add(act, channel, session.identity, creator_role)
        channel = await act.channel({"channel": channel["sid"]})
        return {"channel": await act.channel_object(channel)}


@command("getChannel")
async def get_channel(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        return {"channel": await act.channel_object(await act.channel(args))}


@command("joinChannel")
async def join_channel(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        channel = await act.channel(args)
        member = await act.membership(channel)
        if member is None:
            invite = await invite_store.find_invite(act.conn, channel["sid"], session.identity)
            if invite is None:
                if channel["type"] != "public":
                    raise NotAuthorizedError()
                await act.require("joinChannel")
            role = invite["role_sid"] if invite else session.service["default_channel_role_sid"]
            member = await _add(act, channel, session.identity, role)
            channel = await act.channel(args)
        return {"channel": await act.channel_object(channel), "member": objects.member(member)}


@command("leaveChannel")
async def leave_channel(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        channel = await act.channel(args)
        member = await act.member(channel)
        await act.require("leaveChannel", member)
        await _remove(act, channel, member)
    return {}


def _identity(args: dict[str, Any]) -> str:
    identity = text_arg(args, "identity", required=True)
    assert identity is not None
    return membership.identity(identity)


@command("addMember")
async def add_member(session: Session, args: dict[str, Any]) -> Any:
    identity = _identity(args)
    async with acting(session) as act:
        channel = await act.channel(args)
        await act.require("addMember", await act.membership(channel))
        member = await _add(act, channel, identity, session.service["default_channel_role_sid"])
    return {"member": objects.member(member)}


@command("removeMember")
async def remove_member(session: Session, args: dict[str, Any]) -> Any:
    identity = _identity(args)
    async with acting(session) as act:
        channel = await act.channel(args)
        await act.require("removeMember", await act.membership(channel))
        member = await member_store.get_member_by_identity(act.conn, channel["sid"], identity)
        if member is None:
            raise MemberNotFoundError(f"Member {identity[:64]!r} not found")
        await _remove(act, channel, member)
    return {}


@command("inviteMember")
async def invite_member(session: Session, args: dict[str, Any]) -> Any:
    identity = _identity(args)
    async with acting(session) as act:
        channel = await act.channel(args)
        await act.require("inviteMember", await act.membership(channel))
        invite = await invite_store.create_invite(
            act.conn,
            service_sid=session.service["sid"],
            channel_sid=channel["sid"],
            identity=identity,
            role_sid=session.service["default_channel_role_sid"],
            created_by=session.identity,
        )
        from backchannel.store.users import get_user_by_identity

        invitee = await get_user_by_identity(act.conn, session.service["sid"], identity)
        if invitee is not None:
            act.publish(events.invited(invite, channel, invitee["sid"]))
    return {"invite": objects.invite(invite)}


@command("declineInvitation")
async def decline_invitation(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        channel = await act.channel(args)
        invite = await invite_store.find_invite(act.conn, channel["sid"], session.identity)
        if invite is not None:
            await invite_store.delete_invite(act.conn, channel["sid"], invite["sid"])
    return {}


@command("updateChannel")
async def update_channel(session: Session, args: dict[str, Any]) -> Any:
    params = form(
        FriendlyName=text_arg(args, "friendly_name"),
        UniqueName=text_arg(args, "unique_name"),
        Attributes=attributes_arg(args),
    )
    async with acting(session) as act:
        channel = await act.channel(args)
        member = await act.membership(channel)
        if "FriendlyName" in params or "UniqueName" in params:
            await act.require("editChannelName", member)
        if "Attributes" in params:
            await act.require("editChannelAttributes", member)
        changes = channel_rules.changes(params)
        updated = await channel_store.update_channel(
            act.conn, session.service["sid"], channel["sid"], changes
        )
        assert updated is not None
        act.publish(events.channel_updated(updated))
        return {"channel": await act.channel_object(updated)}


@command("destroyChannel")
async def destroy_channel(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        channel = await act.channel(args)
        await act.require("destroyChannel", await act.membership(channel))
        await channel_store.delete_channel(act.conn, session.service["sid"], channel["sid"])
        act.publish(events.channel_removed(channel))
    return {}


async def _page(
    act: Acting,
    query: Any,
    key: Any,
    args: dict[str, Any],
    render: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """One page of ``query``'s rows by their ``key`` column (an id, which ``render`` is not
    given); the page token is the last key, as text."""
    size = min(int_arg(args, "page_size") or 50, MAX_PAGE)
    token = text_arg(args, "page_token")
    if token is not None:
        if not token.isdigit() or len(token) > 18:
            raise BadRequestError("page_token is not valid")
        query = query.where(key > int(token))
    rows = [
        dict(row)
        for row in (await act.conn.execute(query.order_by(key).limit(size + 1))).mappings()
    ]
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1][key.name] if rows else None
    items = []
    for row in rows:
        row.pop(key.name)
        items.append(await render(row))
    return {"items": items, "next_page_token": str(last) if more else None}


_CHANNEL_COLUMNS = (channels.c.id, *channel_store.COLUMNS)


@command("getSubscribedChannels")
async def get_subscribed_channels(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        query = (
            select(*_CHANNEL_COLUMNS)
            .join(members, members.c.channel_sid == channels.c.sid)
            .where(members.c.user_sid == session.user["sid"])
        )
        return await _page(act, query, channels.c.id, args, act.channel_object)


@command("getPublicChannels")
async def get_public_channels(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        query = select(*_CHANNEL_COLUMNS).where(
            channels.c.service_sid == session.service["sid"], channels.c.type == "public"
        )
        return await _page(act, query, channels.c.id, args, act.channel_object)


@command("getMembers")
async def get_members(session: Session, args: dict[str, Any]) -> Any:
    async with acting(session) as act:
        channel = await act.channel(args)
        await act.member(channel)
        query = select(members).where(members.c.channel_sid == channel["sid"])
        return await _page(act, query, members.c.id, args, _member_object)


async def _member_object(row: dict[str, Any]) -> dict[str, Any]:
    return objects.member(row)
