"""``/v2/Services/{ServiceSid}/Users``: the users of a service, addressed by SID or identity.

An identity is unique per service and case-sensitive (``Alice`` and ``alice`` are two users).
A user's role is a ``deployment`` role of the same service; by default the service's
``default_service_role_sid``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from backchannel.api.calls import Call, endpoint, json, no_content, resource_routes
from backchannel.api.paging import page_request, page_response
from backchannel.api.render import date
from backchannel.api.services import load_service
from backchannel.chat import validation
from backchannel.chat.errors import InvalidParameterError
from backchannel.chat.permissions import DEPLOYMENT
from backchannel.chat.sids import ROLE
from backchannel.realtime import events
from backchannel.store import channels, members, roles, users


def render_user(call: Call, user: dict[str, Any]) -> dict[str, Any]:
    url = call.url(f"/v2/Services/{user['service_sid']}/Users/{user['sid']}")
    return {
        "sid": user["sid"],
        "account_sid": call.account_sid,
        "service_sid": user["service_sid"],
        "attributes": user["attributes"],
        "friendly_name": user["friendly_name"],
        "role_sid": user["role_sid"],
        "identity": user["identity"],
        "is_online": user["is_online"],
        "is_notifiable": user["is_notifiable"],
        "date_created": date(user["date_created"]),
        "date_updated": date(user["date_updated"]),
        "joined_channels_count": user["joined_channels_count"],
        "links": {
            "user_channels": f"{url}/Channels",
            "user_bindings": f"{url}/Bindings",
        },
        "url": url,
    }


async def load_user(call: Call, service: dict[str, Any], name: str = "Sid") -> dict[str, Any]:
    """The user named in the path by SID or identity, within ``service``; else 404."""
    user = await users.get_user(call.conn, service["sid"], call.path_param(name))
    if user is None:
        raise call.not_found()
    return user


async def _role_sid(call: Call, service: dict[str, Any], value: str) -> str:
    validation.sid("RoleSid", value, ROLE)
    role = await roles.get_role(call.conn, service["sid"], value)
    if role is None or role["type"] != DEPLOYMENT:
        raise InvalidParameterError("RoleSid must name a deployment role of this service")
    return value


def _identity(value: str) -> str:
    return validation.text_param(
        "Identity", value, max_length=validation.MAX_IDENTITY, allow_empty=False
    )


@endpoint
async def create(call: Call) -> Response:
    service = await load_service(call)
    identity = _identity(call.required("Identity"))
    sent = call.get("Attributes")
    attributes = "{}" if sent is None else validation.attributes(sent)
    name = call.get("FriendlyName")
    friendly_name = None if name is None else validation.friendly_name(name)
    role = call.get("RoleSid")
    if role is not None:
        role_sid = await _role_sid(call, service, role)
    elif service["default_service_role_sid"] is not None:
        role_sid = service["default_service_role_sid"]
    else:
        raise InvalidParameterError("RoleSid is required: the service has no default role")
    user = await users.create_user(
        call.conn,
        service["sid"],
        identity,
        role_sid,
        friendly_name=friendly_name,
        attributes=attributes,
    )
    return json(render_user(call, user), 201)


@endpoint
async def list_(call: Call) -> Response:
    service = await load_service(call)
    request = page_request(call)
    items, page = await users.list_users(
        call.conn, service["sid"], size=request.size, cursor=request.cursor
    )
    return page_response(call, "users", [render_user(call, u) for u in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    service = await load_service(call)
    return json(render_user(call, await load_user(call, service)))


@endpoint
async def update(call: Call) -> Response:
    service = await load_service(call)
    user = await load_user(call, service)
    changes: dict[str, Any] = {}
    if (value := call.get("Attributes")) is not None:
        changes["attributes"] = validation.attributes(value)
    if (value := call.get("FriendlyName")) is not None:
        changes["friendly_name"] = validation.friendly_name(value)
    if (value := call.get("RoleSid")) is not None:
        changes["role_sid"] = await _role_sid(call, service, value)
    updated = await users.update_user(call.conn, service["sid"], user["sid"], changes)
    assert updated is not None
    if changes:
        channel_sids = await members.channel_sids_of(call.conn, user["sid"])
        call.publish(events.user_updated(updated, sorted(changes), channel_sids))
    return json(render_user(call, updated))


@endpoint
async def delete(call: Call) -> Response:
    service = await load_service(call)
    user = await load_user(call, service)
    # A concurrent delete may have won since the lookup: then this one found nothing.
    gone = await users.delete_user(call.conn, service["sid"], user["sid"])
    if gone is None:
        raise call.not_found()
    for member in gone:  # the other members see the user leave, as when a member is removed
        channel = await channels.get_channel(call.conn, service["sid"], member["channel_sid"])
        if channel is not None:
            call.publish(events.member_left(member, channel))
    call.publish(events.user_deleted(user["sid"]))
    return no_content()


_LIST = "/v2/Services/{ServiceSid}/Users"
_ONE = "/v2/Services/{ServiceSid}/Users/{Sid}"
routes = resource_routes(
    _LIST, _ONE, create=create, list_=list_, fetch=fetch, update=update, delete=delete
)
