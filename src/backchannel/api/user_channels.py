"""``/v2/Services/{ServiceSid}/Users/{UserSid}/Channels``: the channels a user is a member of.

The user is addressed by SID or identity, the channel by SID or unique name. A user channel is
the user's member row seen from the user: ``status`` is always ``joined`` (pending invites
are not listed), and ``unread_messages_count`` is null until the member has consumed
something. Deleting a user channel is the user leaving the channel.

``notification_level`` is always ``default``: there is no column to keep ``muted`` in yet, so
an update asking for ``muted`` is refused rather than acknowledged and forgotten.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from backchannel.api.calls import Call, endpoint, json, no_content, resource_routes
from backchannel.api.lookups import load_channel
from backchannel.api.members import channel_now
from backchannel.api.paging import page_request, page_response
from backchannel.api.services import load_service
from backchannel.api.users import load_user
from backchannel.chat import validation
from backchannel.chat.errors import InvalidParameterError
from backchannel.realtime import events
from backchannel.store import members, user_channels
from backchannel.store.clock import utcnow

NOTIFICATION_LEVELS = ("default", "muted")
STORED_NOTIFICATION_LEVELS = ("default",)


def render_user_channel(call: Call, found: dict[str, Any]) -> dict[str, Any]:
    service = f"/v2/Services/{found['service_sid']}"
    channel = call.url(f"{service}/Channels/{found['channel_sid']}")
    return {
        "account_sid": call.account_sid,
        "service_sid": found["service_sid"],
        "channel_sid": found["channel_sid"],
        "user_sid": found["user_sid"],
        "member_sid": found["member_sid"],
        "status": "joined",
        "last_consumed_message_index": found["last_consumed_message_index"],
        "unread_messages_count": found["unread_messages_count"],
        "notification_level": "default",
        "url": call.url(f"{service}/Users/{found['user_sid']}/Channels/{found['channel_sid']}"),
        "links": {
            "channel": channel,
            "member": f"{channel}/Members/{found['member_sid']}",
        },
    }


async def _load(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user and the channel named in the path (404 for either, 50300 for the channel)."""
    service = await load_service(call)
    user = await load_user(call, service, "UserSid")
    channel = await load_channel(call, service)
    return user, channel


def _changes(call: Call) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if (level := call.get("NotificationLevel")) is not None:
        if level not in NOTIFICATION_LEVELS:
            raise InvalidParameterError("NotificationLevel must be 'default' or 'muted'")
        if level not in STORED_NOTIFICATION_LEVELS:
            raise InvalidParameterError("NotificationLevel 'muted' is not supported yet")
    if (index := call.get("LastConsumedMessageIndex")) is not None:
        changes["last_consumed_message_index"] = (
            None if index == "" else validation.parse_int("LastConsumedMessageIndex", index)
        )
        changes["last_consumption_timestamp"] = utcnow()
    if (moment := call.get("LastConsumptionTimestamp")) is not None:
        changes["last_consumption_timestamp"] = validation.timestamp(
            "LastConsumptionTimestamp", moment
        )
    return changes


@endpoint
async def list_(call: Call) -> Response:
    service = await load_service(call)
    user = await load_user(call, service, "UserSid")
    request = page_request(call)
    items, page = await user_channels.list_user_channels(
        call.conn, user["sid"], size=request.size, cursor=request.cursor
    )
    rendered = [render_user_channel(call, item) for item in items]
    return page_response(call, "channels", rendered, page, request)


@endpoint
async def fetch(call: Call) -> Response:
    user, channel = await _load(call)
    found = await user_channels.get_user_channel(call.conn, user["sid"], channel["sid"])
    if found is None:
        raise call.not_found()
    return json(render_user_channel(call, found))


@endpoint
async def update(call: Call) -> Response:
    user, channel = await _load(call)
    changes = _changes(call)
    found = await user_channels.update_user_channel(call.conn, user["sid"], channel["sid"], changes)
    if found is None:
        raise call.not_found()
    if changes:  # the read horizon moved: as updateLastConsumedMessageIndex, memberUpdated
        member = await members.get_member(call.conn, channel["sid"], found["member_sid"])
        assert member is not None  # updated by this transaction
        call.publish(events.member_updated(member))
    return json(render_user_channel(call, found))


@endpoint
async def delete(call: Call) -> Response:
    user, channel = await _load(call)
    member = await user_channels.leave_channel(call.conn, user["sid"], channel["sid"])
    if member is None:
        raise call.not_found()
    call.publish(events.member_left(member, await channel_now(call, channel)))
    return no_content()


_LIST = "/v2/Services/{ServiceSid}/Users/{UserSid}/Channels"
_ONE = "/v2/Services/{ServiceSid}/Users/{UserSid}/Channels/{ChannelSid}"
routes = resource_routes(
    _LIST, _ONE, list_=list_, fetch=fetch, update=update, delete=delete
)
