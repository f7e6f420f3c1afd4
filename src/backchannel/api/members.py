"""``/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Members``: who is in a channel.

A member is addressed by its SID or by its identity. Adding one creates the identity's User
when there is none and counts it in the channel and the user (``store.members``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from backchannel.api.calls import Call, endpoint, json, no_content, resource_routes
from backchannel.api.lookups import load_channel
from backchannel.api.paging import page_request, page_response
from backchannel.api.render import date
from backchannel.api.services import load_service
from backchannel.chat import membership
from backchannel.chat.errors import MemberNotFoundError
from backchannel.realtime import events
from backchannel.store import channels, members, roles
from backchannel.store.clock import utcnow


def render_member(call: Call, member: dict[str, Any]) -> dict[str, Any]:
    path = (
        f"/v2/Services/{member['service_sid']}/Channels/{member['channel_sid']}"
        f"/Members/{member['sid']}"
    )
    return {
        "sid": member["sid"],
        "account_sid": call.account_sid,
        "channel_sid": member["channel_sid"],
        "service_sid": member["service_sid"],
        "identity": member["identity"],
        "date_created": date(member["date_created"]),
        "date_updated": date(member["date_updated"]),
        "role_sid": member["role_sid"],
        "last_consumed_message_index": member["last_consumed_message_index"],
        "last_consumption_timestamp": date(member["last_consumption_timestamp"]),
        "url": call.url(path),
        "attributes": member["attributes"],
    }


async def check_channel_role(call: Call, service_sid: str, role_sid: str) -> None:
    role = await roles.get_role(call.conn, service_sid, role_sid)
    membership.require_channel_role(role)


async def _load(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    """The member named in the path, and its channel."""
    service = await load_service(call)
    channel = await load_channel(call, service)
    key = call.path_param("Sid")
    member = (
        await members.get_member(call.conn, channel["sid"], key)
        if membership.is_member_key(key)
        else None
    )
    if member is None:
        raise MemberNotFoundError(f"Member {key[:64]!r} not found")
    return member, channel


async def channel_now(call: Call, channel: dict[str, Any]) -> dict[str, Any]:
    """The channel as this transaction left it (its counts), for the events it raises."""
    fresh = await channels.get_channel(call.conn, channel["service_sid"], channel["sid"])
    return channel if fresh is None else fresh


@endpoint
async def create(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service)
    values = membership.new_member(call.params, utcnow())
    if values["role_sid"] is None:
        values["role_sid"] = service["default_channel_role_sid"]
    else:
        await check_channel_role(call, service["sid"], values["role_sid"])
    member = await members.add_member(
        call.conn,
        service=service,
        channel_sid=channel["sid"],
        values=values,
        channel_members_limit=membership.channel_members_limit(service),
        user_channels_limit=membership.user_channels_limit(service),
    )
    call.publish(events.member_joined(member, await channel_now(call, channel)))
    return json(render_member(call, member), 201)


@endpoint
async def list_(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service)
    identities = membership.identities(call.get_all("Identity"))
    request = page_request(call)
    items, page = await members.list_members(
        call.conn, channel["sid"], identities=identities, size=request.size, cursor=request.cursor
    )
    return page_response(call, "members", [render_member(call, m) for m in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    member, _ = await _load(call)
    return json(render_member(call, member))


@endpoint
async def update(call: Call) -> Response:
    member, _ = await _load(call)
    changes = membership.member_changes(call.params, utcnow())
    if "role_sid" in changes:
        await check_channel_role(call, member["service_sid"], changes["role_sid"])
    updated = await members.update_member(call.conn, member["channel_sid"], member["sid"], changes)
    if updated is None:  # removed by a concurrent request since it was loaded
        raise MemberNotFoundError(f"Member {member['sid']} not found")
    call.publish(events.member_updated(updated))
    return json(render_member(call, updated))


@endpoint
async def delete(call: Call) -> Response:
    member, channel = await _load(call)
    if not await members.remove_member(call.conn, member["channel_sid"], member["sid"]):
        raise MemberNotFoundError(f"Member {member['sid']} not found")  # removed concurrently
    call.publish(events.member_left(member, await channel_now(call, channel)))
    return no_content()


_LIST = "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Members"
_ONE = "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Members/{Sid}"
routes = resource_routes(
    _LIST, _ONE, create=create, list_=list_, fetch=fetch, update=update, delete=delete
)
