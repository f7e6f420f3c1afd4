"""``/v2/Services/{ServiceSid}/Roles``: the roles of a service and their permissions."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from backchannel.api.calls import Call, endpoint, json, no_content, resource_routes
from backchannel.api.paging import page_request, page_response
from backchannel.api.render import date
from backchannel.api.services import load_service
from backchannel.chat import permissions, validation
from backchannel.chat.errors import InvalidParameterError
from backchannel.chat.sids import ROLE, is_sid
from backchannel.store import roles

MAX_ROLE_NAME = 64


def render_role(call: Call, role: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": role["sid"],
        "account_sid": call.account_sid,
        "service_sid": role["service_sid"],
        "friendly_name": role["friendly_name"],
        "type": role["type"],
        "permissions": role["permissions"],
        "date_created": date(role["date_created"]),
        "date_updated": date(role["date_updated"]),
        "url": call.url(f"/v2/Services/{role['service_sid']}/Roles/{role['sid']}"),
    }


async def _load(call: Call) -> dict[str, Any]:
    service = await load_service(call)
    sid = call.path_param("Sid")
    role = await roles.get_role(call.conn, service["sid"], sid) if is_sid(sid, ROLE) else None
    if role is None:
        raise call.not_found()
    return role


def _permissions(call: Call, role_type: str) -> tuple[str, ...]:
    values = call.get_all("Permission")
    if not values:
        raise InvalidParameterError("Missing required parameter Permission in the post body")
    return permissions.validate_permissions(role_type, values)


@endpoint
async def create(call: Call) -> Response:
    service = await load_service(call)
    name = validation.text_param(
        "FriendlyName", call.required("FriendlyName"), max_length=MAX_ROLE_NAME, allow_empty=False
    )
    role_type = permissions.validate_role_type(call.required("Type"))
    granted = _permissions(call, role_type)
    role = await roles.create_role(call.conn, service["sid"], name, role_type, granted)
    return json(render_role(call, role), 201)


@endpoint
async def list_(call: Call) -> Response:
    service = await load_service(call)
    request = page_request(call)
    items, page = await roles.list_roles(
        call.conn, service["sid"], size=request.size, cursor=request.cursor
    )
    return page_response(call, "roles", [render_role(call, r) for r in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    return json(render_role(call, await _load(call)))


@endpoint
async def update(call: Call) -> Response:
    role = await _load(call)
    granted = _permissions(call, role["type"])
    updated = await roles.set_permissions(call.conn, role["service_sid"], role["sid"], granted)
    assert updated is not None
    return json(render_role(call, updated))


@endpoint
async def delete(call: Call) -> Response:
    role = await _load(call)
    await roles.delete_role(call.conn, role["service_sid"], role["sid"])
    return no_content()


_LIST = "/v2/Services/{ServiceSid}/Roles"
_ONE = "/v2/Services/{ServiceSid}/Roles/{Sid}"
routes = resource_routes(
    _LIST, _ONE, create=create, list_=list_, fetch=fetch, update=update, delete=delete
)
