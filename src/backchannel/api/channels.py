"""``/v2/Services/{ServiceSid}/Channels``: public and private channels, by SID or unique name.

``links.last_message`` points at the channel's newest message, or is null while it has none.
Deleting a channel deletes its members, messages and invites.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from backchannel.api.calls import Call, endpoint, json, no_content, resource_routes
from backchannel.api.lookups import load_channel
from backchannel.api.paging import page_request, page_response
from backchannel.api.render import date
from backchannel.api.services import load_service
from backchannel.chat import channels as rules
from backchannel.chat.errors import ChannelNotFoundError
from backchannel.realtime import events
from backchannel.store import channels
from backchannel.store.clock import utcnow


def render_channel(call: Call, channel: dict[str, Any]) -> dict[str, Any]:
    url = call.url(f"/v2/Services/{channel['service_sid']}/Channels/{channel['sid']}")
    last = channel.get("last_message_sid")
    return {
        "sid": channel["sid"],
        "account_sid": call.account_sid,
        "service_sid": channel["service_sid"],
        "friendly_name": channel["friendly_name"],
        "unique_name": channel["unique_name"],
        "attributes": channel["attributes"],
        "type": channel["type"],
        "date_created": date(channel["date_created"]),
        "date_updated": date(channel["date_updated"]),
        "created_by": channel["created_by"],
        "members_count": channel["members_count"],
        "messages_count": channel["messages_count"],
        "url": url,
        "links": {
            "members": f"{url}/Members",
            "messages": f"{url}/Messages",
            "invites": f"{url}/Invites",
            "webhooks": f"{url}/Webhooks",
            "last_message": f"{url}/Messages/{last}" if last else None,
        },
    }


@endpoint
async def create(call: Call) -> Response:
    service = await load_service(call)
    values = rules.creation(call.params, utcnow())
    channel = await channels.create_channel(call.conn, service["sid"], values)
    call.publish(events.channel_added(channel))
    return json(render_channel(call, channel), 201)


@endpoint
async def list_(call: Call) -> Response:
    service = await load_service(call)
    types = sorted({rules.channel_type(value) for value in call.get_all("Type")})
    request = page_request(call)
    items, page = await channels.list_channels(
        call.conn, service["sid"], types=types, size=request.size, cursor=request.cursor
    )
    return page_response(call, "channels", [render_channel(call, c) for c in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    service = await load_service(call)
    return json(render_channel(call, await load_channel(call, service, "Sid")))


@endpoint
async def update(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service, "Sid")
    changes = rules.changes(call.params)
    updated = await channels.update_channel(call.conn, service["sid"], channel["sid"], changes)
    assert updated is not None
    call.publish(events.channel_updated(updated))
    return json(render_channel(call, updated))


@endpoint
async def delete(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service, "Sid")
    # A concurrent delete may have won since the lookup: then this one found nothing.
    if not await channels.delete_channel(call.conn, service["sid"], channel["sid"]):
        raise ChannelNotFoundError(f"Channel {channel['sid']} not found")
    call.publish(events.channel_removed(channel))
    return no_content()


_LIST = "/v2/Services/{ServiceSid}/Channels"
_ONE = "/v2/Services/{ServiceSid}/Channels/{Sid}"
routes = resource_routes(
    _LIST, _ONE, create=create, list_=list_, fetch=fetch, update=update, delete=delete
)
