"""``/2010-04-01/Accounts/{AccountSid}/Keys``: the account's API keys.

The secret is in the create response only. A path naming another account answers 404, like a
missing key.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from backchannel.api.calls import Call, endpoint, json, no_content
from backchannel.api.paging import page_request, page_response_2010
from backchannel.api.render import rfc2822
from backchannel.chat import validation
from backchannel.realtime import events
from backchannel.store import keys
from backchannel.store.keys import ApiKey

MAX_KEY_NAME = 64


def render_key(key: ApiKey) -> dict[str, Any]:
    return {
        "sid": key.sid,
        "friendly_name": key.friendly_name,
        "date_created": rfc2822(key.date_created),
        "date_updated": rfc2822(key.date_updated),
    }


def _check_account(call: Call) -> None:
    if call.path_param("AccountSid") != call.account_sid:
        raise call.not_found()


def _friendly_name(call: Call) -> str:
    value = call.get("FriendlyName")
    if value is None:
        return ""
    return validation.text_param("FriendlyName", value, max_length=MAX_KEY_NAME)


async def _load(call: Call) -> ApiKey:
    _check_account(call)
    key = await keys.get_key(call.conn, call.account_sid, call.path_param("Sid"))
    if key is None:
        raise call.not_found()
    return key


@endpoint
async def create(call: Call) -> Response:
    _check_account(call)
    new = await keys.create_key(call.conn, call.store.box, call.account_sid, _friendly_name(call))
    return json({**render_key(new.key), "secret": new.secret}, 201)


@endpoint
async def list_(call: Call) -> Response:
    _check_account(call)
    request = page_request(call)
    items, page = await keys.list_keys(
        call.conn, call.account_sid, size=request.size, cursor=request.cursor
    )
    return page_response_2010(call, "keys", [render_key(k) for k in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    return json(render_key(await _load(call)))


@endpoint
async def update(call: Call) -> Response:
    key = await _load(call)
    renamed = await keys.rename_key(call.conn, call.account_sid, key.sid, _friendly_name(call))
    assert renamed is not None
    return json(render_key(renamed))


@endpoint
async def delete(call: Call) -> Response:
    key = await _load(call)
    await keys.delete_key(call.conn, call.account_sid, key.sid)
    call.publish(events.key_deleted(key.sid))
    return no_content()


_LIST = "/2010-04-01/Accounts/{AccountSid}/Keys"
_ONE = "/2010-04-01/Accounts/{AccountSid}/Keys/{Sid}"
routes = [
    *(Route(path, create, methods=["POST"]) for path in (_LIST, _LIST + ".json")),
    *(Route(path, list_, methods=["GET"]) for path in (_LIST, _LIST + ".json")),
    Route(_ONE + ".json", fetch, methods=["GET"]),
    Route(_ONE + ".json", update, methods=["POST"]),
    Route(_ONE + ".json", delete, methods=["DELETE"]),
    Route(_ONE, fetch, methods=["GET"]),
    Route(_ONE, update, methods=["POST"]),
    Route(_ONE, delete, methods=["DELETE"]),
]
