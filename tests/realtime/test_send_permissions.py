"""sendMessage follows the member's channel role, whichever way the channel is named.

``sendMessage`` answers the common case (a member whose channel role grants it) with one query
and leaves every other case to the general checks; these tests pin both paths to the same rules.
"""

from __future__ import annotations

import asyncio

from .conftest import ChatService, authenticate
from .test_chat import ok, refused


def _role(live: ChatService, friendly_name: str):  # type: ignore[no-untyped-def]
    roles = live.rest.chat.v2.services(live.service_sid).roles
    return next(r for r in roles.list() if r.friendly_name == friendly_name)


def test_send_message_follows_the_members_channel_role(live: ChatService) -> None:
    async def scenario() -> None:
        alice, _ = await authenticate(live, live.token("alice"))
        bob, _ = await authenticate(live, live.token("bob"))
        eve, _ = await authenticate(live, live.token("eve"))
        async with alice, bob, eve:
            created = await ok(alice, "createChannel", friendly_name="r", unique_name="room")
            sid = created["channel"]["sid"]
            await ok(bob, "joinChannel", 2, channel=sid)
            # bob has the default channel role ("channel user"), which grants sendMessage.
            assert (await ok(bob, "sendMessage", 3, channel=sid, body="by sid"))["index"] == 0
            assert (await ok(bob, "sendMessage", 4, channel="room", body="by name"))["index"] == 1
            # Not members, or no such channel: the general answers.
            assert await refused(eve, "sendMessage", 5, channel=sid, body="x") == 50107
            assert await refused(eve, "sendMessage", 6, channel="room", body="x") == 50107
            assert await refused(bob, "sendMessage", 7, channel="nowhere", body="x") == 50300
            assert await refused(bob, "sendMessage", 8, channel="CH" + "0" * 32, body="x") == 50300
            assert await refused(bob, "sendMessage", 9, channel="a\x00b", body="x") == 50300

            # Take sendMessage out of the channel user role: bob is refused, alice (channel
            # admin) still sends.
            user_role = _role(live, "channel user")
            user_role.update(permission=["leaveChannel"])
            assert await refused(bob, "sendMessage", 10, channel=sid, body="x") == 50107
            assert await refused(bob, "sendMessage", 11, channel="room", body="x") == 50107
            assert (await ok(alice, "sendMessage", 12, channel="room", body="admin"))["index"] == 2

            # Give it back: bob sends again, at once.
            user_role.update(permission=["leaveChannel", "sendMessage"])
            assert (await ok(bob, "sendMessage", 13, channel=sid, body="again"))["index"] == 3

    asyncio.run(scenario())
