"""``/v2/Services``: create, list, fetch, update and delete Chat Services."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from backchannel.api.calls import Call, endpoint, json, no_content
from backchannel.api.paging import page_request, page_response
from backchannel.api.render import date
from backchannel.chat import validation
from backchannel.chat.errors import InvalidParameterError
from backchannel.chat.permissions import CHANNEL, DEPLOYMENT
from backchannel.chat.services import apply_update
from backchannel.chat.sids import SERVICE, is_sid
from backchannel.realtime import events
from backchannel.store import roles, services

# Which role type each default role setting must name.
_DEFAULT_ROLE_TYPES = {
    "default_service_role_sid": DEPLOYMENT,
    "default_channel_role_sid": CHANNEL,
    "default_channel_creator_role_sid": CHANNEL,
}


def render_service(call: Call, service: dict[str, Any]) -> dict[str, Any]:
    url = call.url(f"/v2/Services/{service['sid']}")
    return {
        "sid": service["sid"],
        "account_sid": service["account_sid"],
        "friendly_name": service["friendly_name"],
        "date_created": date(service["date_created"]),
        "date_updated": date(service["date_updated"]),
        "default_service_role_sid": service["default_service_role_sid"],
        "default_channel_role_sid": service["default_channel_role_sid"],
        "default_channel_creator_role_sid": service["default_channel_creator_role_sid"],
        "read_status_enabled": service["read_status_enabled"],
        "reachability_enabled": service["reachability_enabled"],
        "typing_indicator_timeout": service["typing_indicator_timeout"],
        "consumption_report_interval": service["consumption_report_interval"],
        "limits": service["limits"],
        "pre_webhook_url": service["pre_webhook_url"],
        "post_webhook_url": service["post_webhook_url"],
        "webhook_method": service["webhook_method"],
        "webhook_filters": service["webhook_filters"],
        "pre_webhook_retry_count": service["pre_webhook_retry_count"],
        "post_webhook_retry_count": service["post_webhook_retry_count"],
        "notifications": service["notifications"],
        "media": service["media"],
        "url": url,
        "links": {
            "channels": f"{url}/Channels",
            "users": f"{url}/Users",
            "roles": f"{url}/Roles",
            "bindings": f"{url}/Bindings",
        },
    }


async def load_service(call: Call, name: str = "ServiceSid") -> dict[str, Any]:
    """The service named in the path, if the caller's account owns it; else 404."""
    sid = call.path_param(name)
    service = (
        await services.get_service(call.conn, call.account_sid, sid)
        if is_sid(sid, SERVICE)
        else None
    )
    if service is None:
        raise call.not_found()
    return service


@endpoint
async def create(call: Call) -> Response:
    name = validation.friendly_name(call.required("FriendlyName"))
    service = await services.create_service(call.conn, call.account_sid, name)
    return json(render_service(call, service), 201)


@endpoint
async def list_(call: Call) -> Response:
    request = page_request(call)
    items, page = await services.list_services(
        call.conn, call.account_sid, size=request.size, cursor=request.cursor
    )
    return page_response(call, "services", [render_service(call, s) for s in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    return json(render_service(call, await load_service(call, "Sid")))


@endpoint
async def update(call: Call) -> Response:
    service = await load_service(call, "Sid")
    changes = apply_update(service, call.params)
    for column, role_type in _DEFAULT_ROLE_TYPES.items():
        if column in changes:
            role = await roles.get_role(call.conn, service["sid"], changes[column])
            if role is None or role["type"] != role_type:
                raise InvalidParameterError(
                    f"{column} must name a {role_type} role of this service"
                )
    updated = await services.update_service(call.conn, call.account_sid, service["sid"], changes)
    assert updated is not None
    return json(render_service(call, updated))


@endpoint
async def delete(call: Call) -> Response:
    service = await load_service(call, "Sid")
    await services.delete_service(call.conn, call.account_sid, service["sid"])
    call.publish(events.service_deleted(service["sid"]))
    return no_content()


routes = [
    Route("/v2/Services", create, methods=["POST"]),
    Route("/v2/Services", list_, methods=["GET"]),
    Route("/v2/Services/{Sid}", fetch, methods=["GET"]),
    Route("/v2/Services/{Sid}", update, methods=["POST"]),
    Route("/v2/Services/{Sid}", delete, methods=["DELETE"]),
]
