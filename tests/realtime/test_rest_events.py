"""Changes made through the REST API (the official twilio client) reach live sessions as the
same events a live command raises, over real sockets (docs/protocol.md, "Events")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from websockets.asyncio.client import ClientConnection

from .conftest import ChatService, authenticate, closed_with, receive
from .test_chat import next_event, ok, pair, refused

T = TypeVar("T")


async def rest(call: Callable[[], T]) -> T:
    """A blocking twilio client call, off the event loop so the sockets stay served."""
    return await asyncio.to_thread(call)


async def quiet(ws: ClientConnection, seconds: float = 0.3) -> list[dict[str, Any]]:
    """Every frame that arrives until ``seconds`` pass without one."""
    frames = []
    while True:
        try:
            frames.append(await receive(ws, timeout=seconds))
        except TimeoutError:
            return frames


def service(live: ChatService) -> Any:
    return live.rest.chat.v2.services(live.service_sid)


def test_a_rest_message_reaches_members_as_message_added_with_its_index(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await ok(alice, "sendMessage", channel=channel, body="live one")
            for ws in (alice, bob):
                assert (await next_event(ws, "messageAdded"))["index"] == 0
            created = await rest(
                lambda: service(live)
                .channels(channel)
                .messages.create(body="from rest", from_="carol", attributes='{"k": 2}')
            )
            assert created.index == 1
            heard = await next_event(bob, "messageAdded")
            assert (heard["index"], heard["body"], heard["author"]) == (1, "from rest", "carol")
            assert heard["sid"] == created.sid and heard["attributes"] == {"k": 2}
            assert (await next_event(alice, "messageAdded"))["index"] == 1

    asyncio.run(scenario())


def test_rest_message_update_and_delete_raise_updated_and_removed(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            sent = await ok(alice, "sendMessage", channel=channel, body="draft")
            await next_event(bob, "messageAdded")
            message = service(live).channels(channel).messages(sent["message"]["sid"])
            await rest(lambda: message.update(body="final"))
            updated = await next_event(bob, "messageUpdated")
            assert (updated["index"], updated["body"], updated["was_edited"]) == (0, "final", True)
            assert await rest(message.delete) is True
            removed = await next_event(bob, "messageRemoved")
            assert (removed["sid"], removed["index"]) == (sent["message"]["sid"], 0)

    asyncio.run(scenario())


def test_a_member_added_through_rest_joins_live_and_hears_the_channel(live: ChatService) -> None:
    async def scenario() -> None:
        carol, _ = await authenticate(live, live.token("carol"))
        alice, _ = await authenticate(live, live.token("alice"))
        async with carol, alice:
            channel = (await ok(alice, "createChannel", type="private"))["channel"]["sid"]
            member = await rest(
                lambda: service(live).channels(channel).members.create(identity="carol")
            )
            joined = await next_event(carol, "channelJoined", timeout=1)
            assert joined["sid"] == channel and joined["members_count"] == 2
            assert (await next_event(alice, "memberJoined"))["identity"] == "alice"  # creator
            heard = await next_event(alice, "memberJoined")
            assert (heard["sid"], heard["identity"]) == (member.sid, "carol")
            await ok(alice, "sendMessage", channel=channel, body="welcome")
            assert (await next_event(carol, "messageAdded"))["body"] == "welcome"
            assert (await ok(carol, "sendMessage", channel=channel, body="thanks"))["index"] == 1

    asyncio.run(scenario())


def _remove_member(live: ChatService, channel: str) -> None:
    assert service(live).channels(channel).members("bob").delete() is True


def _leave_as_user_channel(live: ChatService, channel: str) -> None:
    assert service(live).users("bob").user_channels(channel).delete() is True


@pytest.mark.parametrize(
    "remove",
    [
        pytest.param(_remove_member, id="members"),
        pytest.param(_leave_as_user_channel, id="user-channels"),
    ],
)
def test_a_member_removed_through_rest_leaves_the_channel_live(
    live: ChatService, remove: Callable[[ChatService, str], None]
) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await rest(lambda: remove(live, channel))
            left = await next_event(bob, "channelLeft", timeout=1)
            assert left["sid"] == channel and left["members_count"] == 1
            gone = await next_event(alice, "memberLeft")
            assert gone["identity"] == "bob"
            await ok(alice, "sendMessage", 2, channel=channel, body="after")
            assert await refused(bob, "sendMessage", 3, channel=channel, body="x") == 50107
            frames = await quiet(bob)
            assert not [f for f in frames if f.get("event") == "messageAdded"]

    asyncio.run(scenario())


def test_deleting_the_user_through_rest_closes_their_sessions_with_4210_and_they_leave(
    live: ChatService,
) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await rest(lambda: service(live).users("bob").delete())
            started = time.monotonic()
            code, reason = await closed_with(bob, timeout=1)
            assert (code, reason["code"]) == (4210, 20404)
            assert time.monotonic() - started < 1
            gone = await next_event(alice, "memberLeft", timeout=1)
            assert (gone["identity"], gone["channel_sid"]) == ("bob", channel)
            assert (await ok(alice, "ping"))["server_time"]  # other users stay connected
        assert service(live).channels(channel).fetch().members_count == 1

    asyncio.run(scenario())


def test_deleting_the_service_through_rest_closes_its_sessions_with_4211(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, _ = await pair(live)
        async with alice, bob:
            await rest(lambda: service(live).delete())
            for ws in (alice, bob):
                code, reason = await closed_with(ws, timeout=1)
                assert (code, reason["code"]) == (4211, 20404)

    asyncio.run(scenario())


def test_rest_channel_update_and_delete_raise_updated_and_removed(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await rest(
                lambda: service(live).channels(channel).update(friendly_name="renamed")
            )
            updated = await next_event(bob, "channelUpdated")
            assert (updated["sid"], updated["friendly_name"]) == (channel, "renamed")
            await rest(lambda: service(live).channels(channel).delete())
            removed = await next_event(bob, "channelRemoved")
            assert removed["sid"] == channel

    asyncio.run(scenario())


def test_a_private_channel_deleted_through_rest_is_removed_for_its_members(
    live: ChatService,
) -> None:
    async def scenario() -> None:
        alice, _ = await authenticate(live, live.token("alice"))
        async with alice:
            channel = (await ok(alice, "createChannel", type="private"))["channel"]["sid"]
            await rest(lambda: service(live).channels(channel).delete())
            assert (await next_event(alice, "channelRemoved"))["sid"] == channel
            assert await refused(alice, "sendMessage", channel=channel, body="x") == 50300

    asyncio.run(scenario())


def test_a_public_channel_created_through_rest_is_announced_to_the_service(
    live: ChatService,
) -> None:
    async def scenario() -> None:
        alice, _ = await authenticate(live, live.token("alice"))
        async with alice:
            created = await rest(lambda: service(live).channels.create(unique_name="lobby"))
            added = await next_event(alice, "channelAdded")
            assert (added["sid"], added["unique_name"]) == (created.sid, "lobby")
            await rest(lambda: service(live).channels.create(type="private"))
            assert not [f for f in await quiet(alice) if f.get("event") == "channelAdded"]

    asyncio.run(scenario())


def test_a_rest_invite_reaches_the_invitee_who_has_a_user(live: ChatService) -> None:
    async def scenario() -> None:
        alice, _ = await authenticate(live, live.token("alice"))
        bob, _ = await authenticate(live, live.token("bob"))
        async with alice, bob:
            channel = (await ok(alice, "createChannel", type="private"))["channel"]["sid"]
            invite = await rest(
                lambda: service(live).channels(channel).invites.create(identity="bob")
            )
            invited = await next_event(bob, "channelInvited")
            assert (invited["sid"], invited["status"]) == (channel, "invited")
            assert invited["invite"]["sid"] == invite.sid
            # An identity with no User yet has no session: the invite is stored, nobody told.
            await rest(lambda: service(live).channels(channel).invites.create(identity="zoe"))
            assert await ok(bob, "joinChannel", channel=channel)

    asyncio.run(scenario())


def test_a_rest_user_update_reaches_the_user_and_the_members_of_their_channels(
    live: ChatService,
) -> None:
    async def scenario() -> None:
        alice, bob, _ = await pair(live)
        async with alice, bob:
            await rest(lambda: service(live).users("bob").update(friendly_name="Bobby"))
            for ws in (bob, alice):
                heard = await next_event(ws, "userUpdated")
                assert heard["user"]["friendly_name"] == "Bobby"
                assert heard["updated"] == ["friendly_name"]

    asyncio.run(scenario())


def test_a_rest_read_horizon_update_raises_member_updated(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await ok(alice, "sendMessage", channel=channel, body="read me")
            await rest(
                lambda: service(live)
                .users("bob")
                .user_channels(channel)
                .update(last_consumed_message_index=0)
            )
            updated = await next_event(alice, "memberUpdated")
            assert updated["identity"] == "bob" and updated["last_consumed_message_index"] == 0

    asyncio.run(scenario())


def test_a_rest_member_update_raises_member_updated(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await rest(
                lambda: service(live).channels(channel).members("bob").update(attributes='{"x":1}')
            )
            updated = await next_event(alice, "memberUpdated")
            assert updated["identity"] == "bob" and updated["attributes"] == {"x": 1}

    asyncio.run(scenario())
