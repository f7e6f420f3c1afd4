"""Live chat between real clients: channels, messages, permissions, typing, read horizon, resume."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.client import ClientConnection

from .conftest import ChatService, authenticate, receive, request


async def next_event(ws: ClientConnection, name: str, timeout: float = 5.0) -> dict[str, Any]:
    """The data of the next ``name`` event, skipping other frames."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await receive(ws, timeout)
            if frame.get("event") == name:
                return frame["data"]  # type: ignore[no-any-return]


async def ok(ws: ClientConnection, cmd: str, request_id: int = 1, **args: Any) -> Any:
    reply = await request(ws, cmd, request_id, **args)
    assert reply["ok"] is True, reply
    return reply["result"]


async def refused(ws: ClientConnection, cmd: str, request_id: int = 1, **args: Any) -> int:
    reply = await request(ws, cmd, request_id, **args)
    assert reply["ok"] is False, reply
    return int(reply["error"]["code"])


async def pair(live: ChatService) -> tuple[ClientConnection, ClientConnection, str]:
    """alice and bob, both members of a public channel alice created."""
    alice, _ = await authenticate(live, live.token("alice"))
    bob, _ = await authenticate(live, live.token("bob"))
    created = await ok(alice, "createChannel", friendly_name="general", unique_name="general")
    channel = created["channel"]
    assert channel["status"] == "joined" and channel["members_count"] == 1
    joined = await ok(bob, "joinChannel", channel="general")
    assert joined["channel"]["members_count"] == 2
    await next_event(bob, "channelJoined")
    return alice, bob, channel["sid"]


def test_two_members_chat_live_both_ways(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            sent = await ok(
                alice, "sendMessage", channel=channel, body="hi bob", attributes={"k": 1}
            )
            assert sent["index"] == 0
            heard = await next_event(bob, "messageAdded")
            assert (heard["author"], heard["body"], heard["index"]) == ("alice", "hi bob", 0)
            assert heard["attributes"] == {"k": 1} and heard["channel_sid"] == channel
            own = await next_event(alice, "messageAdded")  # every member hears every message
            assert own["index"] == 0
            await ok(bob, "sendMessage", 2, channel=channel, body="hi alice")
            back = await next_event(alice, "messageAdded")
            assert (back["author"], back["index"]) == ("bob", 1)

    asyncio.run(scenario())


def test_a_sent_message_reads_the_same_in_its_event_its_reply_and_the_history(
    live: ChatService,
) -> None:
    """The writer shows a new message from what was sent rather than from the stored text; a
    reader of the history, and a retry by key (which finds the stored row), see the same."""
    attributes = {
        "nested": {"list": [1, 2.5, -0.0, 1e300, None, True, False], "empty": {}},
        "text": 'quote " backslash \\ é 😀 \u2028 </script>',
        "big": 2**70,
    }

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            heard = []
            for n, sent_attributes in enumerate((attributes, None, {})):
                args: dict[str, Any] = {"channel": channel, "body": "b", "key": f"k{n}"}
                if sent_attributes is not None:
                    args["attributes"] = sent_attributes
                sent = await ok(alice, "sendMessage", 1 + n, **args)
                heard.append(await next_event(bob, "messageAdded"))
                assert heard[-1] == sent["message"]
                assert heard[-1]["attributes"] == (sent_attributes or {})
                again = await ok(alice, "sendMessage", 10 + n, **args)
                assert again["message"] == heard[-1]
            page = await ok(bob, "getMessages", channel=channel)
            assert page["items"] == heard

    asyncio.run(scenario())


def test_a_send_with_attributes_over_16_kib_is_refused_and_stores_nothing(
    live: ChatService,
) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            big = {"k": "v" * (16 * 1024)}
            reply = await request(
                alice, "sendMessage", 1, channel=channel, body="b", attributes=big
            )
            assert reply["ok"] is False and reply["error"]["code"] == 20001
            assert "16384 bytes" in reply["error"]["message"]
            sent = await ok(alice, "sendMessage", 2, channel=channel, body="fits")
            assert sent["index"] == 0
            page = await ok(bob, "getMessages", channel=channel)
            assert [m["body"] for m in page["items"]] == ["fits"]

    asyncio.run(scenario())


def test_a_retried_send_with_the_same_key_adds_one_message(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            first = await ok(alice, "sendMessage", 1, channel=channel, body="once", key="k-1")
            again = await ok(alice, "sendMessage", 2, channel=channel, body="once", key="k-1")
            assert first["index"] == again["index"] == 0
            page = await ok(bob, "getMessages", channel=channel)
            assert [m["body"] for m in page["items"]] == ["once"]

    asyncio.run(scenario())


def test_non_members_are_refused_and_private_channels_stay_hidden(live: ChatService) -> None:
    async def scenario() -> None:
        alice, _ = await authenticate(live, live.token("alice"))
        eve, _ = await authenticate(live, live.token("eve"))
        async with alice, eve:
            public = (await ok(alice, "createChannel", friendly_name="pub"))["channel"]["sid"]
            private = (await ok(alice, "createChannel", 2, type="private"))["channel"]["sid"]
            assert await refused(eve, "sendMessage", channel=public, body="x") == 50107
            assert await refused(eve, "getMessages", 2, channel=public) == 50107
            assert await refused(eve, "getMembers", 5, channel=public) == 50107
            assert await refused(eve, "joinChannel", 3, channel=private) == 50300
            assert await refused(eve, "destroyChannel", 4, channel=public) == 50107

    asyncio.run(scenario())


def test_get_members_pages_in_join_order_and_refuses_a_bad_page_token(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        carol, _ = await authenticate(live, live.token("carol"))
        async with alice, bob, carol:
            await ok(carol, "joinChannel", channel=channel)
            first = await ok(alice, "getMembers", channel=channel, page_size=2)
            assert [m["identity"] for m in first["items"]] == ["alice", "bob"]
            assert all(m["channel_sid"] == channel and m["role_sid"] for m in first["items"])
            token = first["next_page_token"]
            rest = await ok(alice, "getMembers", 2, channel=channel, page_token=token)
            assert [m["identity"] for m in rest["items"]] == ["carol"]
            assert rest["next_page_token"] is None
            whole = await ok(bob, "getMembers", 3, channel="general")
            assert [m["identity"] for m in whole["items"]] == ["alice", "bob", "carol"]
            for bad in ("x1", "-1", "9" * 19, 5):
                code = await refused(alice, "getMembers", 4, channel=channel, page_token=bad)
                assert code == 20001, bad

    asyncio.run(scenario())


def test_an_invited_user_can_join_a_private_channel(live: ChatService) -> None:
    async def scenario() -> None:
        alice, _ = await authenticate(live, live.token("alice"))
        bob, _ = await authenticate(live, live.token("bob"))
        async with alice, bob:
            private = (await ok(alice, "createChannel", type="private"))["channel"]["sid"]
            await ok(alice, "inviteMember", 2, channel=private, identity="bob")
            invited = await next_event(bob, "channelInvited")
            assert invited["sid"] == private and invited["status"] == "invited"
            joined = await ok(bob, "joinChannel", channel=private)
            assert joined["channel"]["status"] == "joined"

    asyncio.run(scenario())


def test_typing_reaches_the_others_then_ends_after_the_service_timeout(live: ChatService) -> None:
    live.rest.chat.v2.services(live.service_sid).update(typing_indicator_timeout=1)

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await ok(alice, "typing", channel=channel)
            started = await next_event(bob, "typingStarted")
            assert started == {"channel_sid": channel, "identity": "alice"}
            ended = await next_event(bob, "typingEnded", timeout=4)
            assert ended["identity"] == "alice"
            await ok(alice, "ping", 9)
            # The typist hears nothing of its own typing.
            frames = []
            while True:
                try:
                    frames.append(await receive(alice, timeout=0.3))
                except TimeoutError:
                    break
            assert not [f for f in frames if f.get("event", "").startswith("typing")]

    asyncio.run(scenario())


def test_the_read_horizon_gives_the_unread_count(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            for n in range(3):
                await ok(alice, "sendMessage", n + 1, channel=channel, body=f"m{n}")
            result = await ok(bob, "updateLastConsumedMessageIndex", channel=channel, index=0)
            assert result == {"last_consumed_message_index": 0, "unread_count": 2}
            updated = await next_event(alice, "memberUpdated")
            assert updated["identity"] == "bob" and updated["last_consumed_message_index"] == 0

    asyncio.run(scenario())


def test_get_messages_pages_backwards_from_the_newest(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            for n in range(5):
                await ok(alice, "sendMessage", n + 1, channel=channel, body=f"m{n}")
            page = await ok(bob, "getMessages", channel=channel, page_size=2)
            assert [m["index"] for m in page["items"]] == [3, 4] and page["has_next_page"]
            page = await ok(bob, "getMessages", 2, channel=channel, page_size=2, anchor=2)
            assert [m["index"] for m in page["items"]] == [1, 2]
            page = await ok(bob, "getMessages", 3, channel=channel, anchor=0, direction="forwards")
            assert [m["index"] for m in page["items"]] == [0, 1, 2, 3, 4]
            assert not page["has_next_page"]

    asyncio.run(scenario())


def test_a_reconnecting_client_gets_what_it_missed_once_and_in_order(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice:
            await ok(alice, "sendMessage", channel=channel, body="seen")
            seen = await next_event(bob, "messageAdded")
            await bob.close()
            for n in range(3):
                await ok(alice, "sendMessage", n + 2, channel=channel, body=f"missed {n}")
            token = live.token("bob")
            bob, _ = await authenticate_resuming(live, token, {channel: seen["index"]})
            async with bob:
                replayed = [await next_event(bob, "messageAdded") for _ in range(3)]
                assert [m["body"] for m in replayed] == ["missed 0", "missed 1", "missed 2"]
                await ok(alice, "sendMessage", 9, channel=channel, body="live")
                assert (await next_event(bob, "messageAdded"))["body"] == "live"

    asyncio.run(scenario())


async def authenticate_resuming(
    live: ChatService, token: str, resume: dict[str, int]
) -> tuple[ClientConnection, dict[str, Any]]:
    from websockets.asyncio.client import connect

    from .conftest import send

    ws = await connect(live.ws_url)
    await send(ws, {"cmd": "authenticate", "args": {"token": token, "resume": resume}})
    ready = await receive(ws)
    assert ready["event"] == "ready"
    return ws, ready["data"]


def test_a_removed_member_stops_hearing_the_channel_and_cannot_send(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            await ok(alice, "removeMember", channel=channel, identity="bob")
            left = await next_event(bob, "channelLeft", timeout=1)
            assert left["sid"] == channel
            await ok(alice, "sendMessage", 2, channel=channel, body="after")
            assert await refused(bob, "sendMessage", 3, channel=channel, body="x") == 50107
            frames = []
            while True:
                try:
                    frames.append(await receive(bob, timeout=0.3))
                except TimeoutError:
                    break
            assert not [f for f in frames if f.get("event") == "messageAdded"]

    asyncio.run(scenario())


def test_presence_follows_live_sessions_when_the_service_enables_reachability(
    live: ChatService,
) -> None:
    live.rest.chat.v2.services(live.service_sid).update(reachability_enabled=True)

    async def scenario() -> None:
        alice, bob, _ = await pair(live)
        async with bob:
            user = (await ok(bob, "getUser", identity="alice"))["user"]
            assert user["is_online"] is True
            await alice.close()
            gone = await next_event(bob, "userUpdated")
            assert gone["updated"] == ["is_online"]
            assert gone["user"]["identity"] == "alice" and gone["user"]["is_online"] is False
            alice, ready = await authenticate(live, live.token("alice"))
            async with alice:
                assert ready["user"]["is_online"] is True
                back = await next_event(bob, "userUpdated")
                assert back["user"]["is_online"] is True

    asyncio.run(scenario())


def test_presence_is_unknown_without_reachability(live: ChatService) -> None:
    async def scenario() -> None:
        alice, bob, _ = await pair(live)
        async with alice, bob:
            assert (await ok(bob, "getUser", identity="alice"))["user"]["is_online"] is None

    asyncio.run(scenario())
