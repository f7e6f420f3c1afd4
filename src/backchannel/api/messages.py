"""``/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Messages``: a channel's messages.

Lists page by the message ``index``; ``Order=desc`` walks from the newest message back.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from backchannel.api.calls import Call, endpoint, json, no_content, resource_routes
from backchannel.api.lookups import load_channel
from backchannel.api.paging import page_request, page_response
from backchannel.api.render import date
from backchannel.api.services import load_service
from backchannel.chat import messages as rules
from backchannel.chat.errors import MessageNotFoundError
from backchannel.chat.sids import MESSAGE, is_sid
from backchannel.realtime import events
from backchannel.store import messages
from backchannel.store.clock import utcnow


def render_message(call: Call, message: dict[str, Any]) -> dict[str, Any]:
    path = (
        f"/v2/Services/{message['service_sid']}/Channels/{message['channel_sid']}"
        f"/Messages/{message['sid']}"
    )
    return {
        "sid": message["sid"],
        "account_sid": call.account_sid,
        "attributes": message["attributes"],
        "service_sid": message["service_sid"],
        "to": message["to"],
        "channel_sid": message["channel_sid"],
        "date_created": date(message["date_created"]),
        "date_updated": date(message["date_updated"]),
        "last_updated_by": message["last_updated_by"],
        "was_edited": message["was_edited"],
        "from": message["from"],
        "body": message["body"],
        "index": message["index"],
        "type": message["type"],
        "media": None,
        "url": call.url(path),
    }


async def _load(call: Call) -> dict[str, Any]:
    service = await load_service(call)
    channel = await load_channel(call, service)
    sid = call.path_param("Sid")
    message = (
        await messages.get_message(call.conn, channel["sid"], sid) if is_sid(sid, MESSAGE) else None
    )
    if message is None:
        raise MessageNotFoundError(f"Message {sid[:64]!r} not found")
    return message


@endpoint
async def create(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service)
    values = rules.new_message(call.params, utcnow())
    message = await messages.create_message(call.conn, service["sid"], channel["sid"], values)
    call.publish(events.message_added(message))
    return json(render_message(call, message), 201)


@endpoint
async def list_(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service)
    descending = rules.order(call.get("Order")) == rules.DESCENDING
    request = page_request(call)
    items, page = await messages.list_messages(
        call.conn, channel["sid"], descending=descending, size=request.size, cursor=request.cursor
    )
    return page_response(call, "messages", [render_message(call, m) for m in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    return json(render_message(call, await _load(call)))


@endpoint
async def update(call: Call) -> Response:
    message = await _load(call)
    changes = rules.message_changes(message, call.params, utcnow())
    updated = await messages.update_message(
        call.conn, message["channel_sid"], message["sid"], changes
    )
    if updated is None:  # deleted by a concurrent request since it was loaded
        raise MessageNotFoundError(f"Message {message['sid']} not found")
    call.publish(events.message_updated(updated))
    return json(render_message(call, updated))


@endpoint
async def delete(call: Call) -> Response:
    message = await _load(call)
    if not await messages.delete_message(call.conn, message["channel_sid"], message["sid"]):
        raise MessageNotFoundError(f"Message {message['sid']} not found")  # removed concurrently
    call.publish(events.message_removed(message))
    return no_content()


_LIST = "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Messages"
_ONE = "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Messages/{Sid}"
routes = resource_routes(
    _LIST, _ONE, create=create, list_=list_, fetch=fetch, update=update, delete=delete
)
