"""``/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Invites``: pending invitations to a channel.

One invite per identity and channel (Twilio 50212 for a second); adding the identity as a
member consumes its invite. Invites made through this API are ``created_by`` ``"system"``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from backchannel.api.calls import Call, endpoint, json, no_content, resource_routes
from backchannel.api.lookups import load_channel
from backchannel.api.members import check_channel_role
from backchannel.api.paging import page_request, page_response
from backchannel.api.render import date
from backchannel.api.services import load_service
from backchannel.chat import membership
from backchannel.chat.errors import InviteNotFoundError
from backchannel.chat.sids import INVITE, is_sid
from backchannel.realtime import events
from backchannel.store import invites, users

CREATED_BY = "system"


def render_invite(call: Call, invite: dict[str, Any]) -> dict[str, Any]:
    path = (
        f"/v2/Services/{invite['service_sid']}/Channels/{invite['channel_sid']}"
        f"/Invites/{invite['sid']}"
    )
    return {
        "sid": invite["sid"],
        "account_sid": call.account_sid,
        "channel_sid": invite["channel_sid"],
        "service_sid": invite["service_sid"],
        "identity": invite["identity"],
        "date_created": date(invite["date_created"]),
        "date_updated": date(invite["date_updated"]),
        "role_sid": invite["role_sid"],
        "created_by": invite["created_by"],
        "url": call.url(path),
    }


async def _load(call: Call) -> dict[str, Any]:
    service = await load_service(call)
    channel = await load_channel(call, service)
    sid = call.path_param("Sid")
    invite = (
        await invites.get_invite(call.conn, channel["sid"], sid) if is_sid(sid, INVITE) else None
    )
    if invite is None:
        raise InviteNotFoundError(f"Invite {sid[:64]!r} not found")
    return invite


@endpoint
async def create(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service)
    values = membership.new_invite(call.params)
    role_sid = values["role_sid"]
    if role_sid is None:
        role_sid = service["default_channel_role_sid"]
    else:
        await check_channel_role(call, service["sid"], role_sid)
    invite = await invites.create_invite(
        call.conn, service["sid"], channel["sid"], values["identity"], role_sid, CREATED_BY
    )
    invitee = await users.get_user_by_identity(call.conn, service["sid"], invite["identity"])
    if invitee is not None:  # one with no User yet has no session to tell
        call.publish(events.invited(invite, channel, invitee["sid"]))
    return json(render_invite(call, invite), 201)


@endpoint
async def list_(call: Call) -> Response:
    service = await load_service(call)
    channel = await load_channel(call, service)
    identities = membership.identities(call.get_all("Identity"))
    request = page_request(call)
    items, page = await invites.list_invites(
        call.conn, channel["sid"], identities=identities, size=request.size, cursor=request.cursor
    )
    return page_response(call, "invites", [render_invite(call, i) for i in items], page, request)


@endpoint
async def fetch(call: Call) -> Response:
    return json(render_invite(call, await _load(call)))


@endpoint
async def delete(call: Call) -> Response:
    invite = await _load(call)
    if not await invites.delete_invite(call.conn, invite["channel_sid"], invite["sid"]):
        raise InviteNotFoundError(f"Invite {invite['sid']} not found")  # removed concurrently
    return no_content()


_LIST = "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Invites"
_ONE = "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Invites/{Sid}"
routes = resource_routes(
    _LIST, _ONE, create=create, list_=list_, fetch=fetch, delete=delete
)
