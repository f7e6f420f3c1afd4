"""Two (or three) SDK clients on a real server: channels, messages, members, typing, horizon."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from backchannel.client import Channel, ChatClient, ChatError, Member, Message, Paginator, User
from conftest import ChatService  # tests/conftest.py

from .support import Recorder, run

T = TypeVar("T")


@asynccontextmanager
async def clients(live: ChatService, *identities: str) -> AsyncIterator[list[ChatClient]]:
    opened = [await ChatClient.create(live.token(i), url=live.url) for i in identities]
    try:
        yield opened
    finally:
        for client in opened:
            await client.shutdown()


async def two_pages(page: Paginator[T]) -> list[T]:
    """The items of ``page`` and of the next, which is the last."""
    assert page.has_next_page
    last = await page.next_page()
    assert not last.has_next_page
    return [*page.items, *last.items]


async def shared_channel(alice: ChatClient, bob: ChatClient) -> tuple[Channel, Channel]:
    """A public channel ``general`` created by alice, which bob joins."""
    mine = await alice.create_channel(friendly_name="General", unique_name="general")
    theirs = await bob.get_channel_by_unique_name("general")
    await theirs.join()
    return mine, theirs


def test_two_clients_exchange_messages_live_both_ways(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            heard_by_alice = Recorder(alice, "messageAdded")
            heard_by_bob = Recorder(bob, "messageAdded")
            mine, theirs = await shared_channel(alice, bob)
            assert theirs.sid == mine.sid and theirs.friendly_name == "General"

            index = await mine.send_message("hi bob", attributes={"mood": "happy"})
            [message] = await heard_by_bob.wait("messageAdded")
            assert isinstance(message, Message)
            assert (message.index, message.body, message.author) == (index, "hi bob", "alice")
            assert message.attributes == {"mood": "happy"}
            assert message.channel_sid == mine.sid
            assert message.sid.startswith("IM")
            assert isinstance(message.date_created, datetime)
            assert abs((datetime.now(UTC) - message.date_created).total_seconds()) < 60

            reply = await theirs.send_message("hi alice")
            assert reply == index + 1
            found = await heard_by_alice.wait("messageAdded", where=lambda m: m.author == "bob")
            assert [m.body for m in found] == ["hi alice"]
            # Each side also hears its own message, once.
            assert [m.body for m in heard_by_alice.of("messageAdded")] == ["hi bob", "hi alice"]
            await heard_by_bob.wait("messageAdded", count=2)
            assert [m.index for m in heard_by_bob.of("messageAdded")] == [index, index + 1]

    run(scenario())


def test_channel_events_reach_the_channel_object_too(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            mine, theirs = await shared_channel(alice, bob)
            heard: list[str] = []

            async def on_message(message: Message) -> None:
                heard.append(message.body or "")

            theirs.on("messageAdded", on_message)
            await mine.send_message("to the channel")
            for _ in range(100):
                if heard:
                    break
                await asyncio.sleep(0.02)
            assert heard == ["to the channel"]

    run(scenario())


def test_join_on_a_joined_channel_is_a_no_op(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            joins = Recorder(alice, "memberJoined")
            mine, theirs = await shared_channel(alice, bob)
            assert theirs.status == "joined"
            await theirs.join()
            await mine.join()
            [member] = await joins.wait("memberJoined", where=lambda m: m.identity == "bob")
            assert isinstance(member, Member) and member.channel_sid == mine.sid
            await asyncio.sleep(0.2)
            assert [m.identity for m in joins.of("memberJoined")] == ["alice", "bob"]
            assert (await bob.get_channel_by_sid(mine.sid)).members_count == 2

    run(scenario())


def test_the_same_channel_object_is_kept_current(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            updates = Recorder(bob, "channelUpdated")
            mine, theirs = await shared_channel(alice, bob)
            assert await bob.get_channel_by_sid(mine.sid) is theirs
            await mine.update(friendly_name="Renamed", attributes={"topic": "tests"})
            assert mine.friendly_name == "Renamed" and mine.attributes == {"topic": "tests"}
            [channel] = await updates.wait("channelUpdated")
            assert channel is theirs
            assert theirs.friendly_name == "Renamed" and theirs.attributes == {"topic": "tests"}
            assert theirs.unique_name == "general"  # not named in the update: unchanged

    run(scenario())


def test_messages_page_backwards_and_forwards(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice") as (alice,):
            channel = await alice.create_channel(unique_name="history")
            for i in range(7):
                assert await channel.send_message(f"m{i}") == i

            page = await channel.get_messages(page_size=3)
            assert [m.body for m in page.items] == ["m4", "m5", "m6"]
            assert page.has_next_page
            page = await page.next_page()
            assert [m.index for m in page.items] == [1, 2, 3]
            page = await page.next_page()
            assert [m.index for m in page.items] == [0]
            assert not page.has_next_page
            with pytest.raises(LookupError):
                await page.next_page()

            page = await channel.get_messages(page_size=4, anchor=2, direction="forwards")
            assert [m.index for m in page.items] == [2, 3, 4, 5]
            page = await page.next_page()
            assert [m.index for m in page.items] == [6]
            assert not page.has_next_page

            default = await channel.get_messages()
            assert [m.index for m in default.items] == list(range(7))

    run(scenario())


def test_messages_are_edited_and_removed_for_everyone(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            heard = Recorder(bob, "messageUpdated", "messageRemoved")
            mine, _ = await shared_channel(alice, bob)
            await mine.send_message("typo")
            [message] = (await mine.get_messages()).items
            updated = await message.update(body="fixed")
            assert updated is message and message.body == "fixed" and message.was_edited
            [seen] = await heard.wait("messageUpdated")
            assert (seen.index, seen.body) == (message.index, "fixed")
            await message.remove()
            [removed] = await heard.wait("messageRemoved")
            assert removed.index == message.index
            assert (await mine.get_messages()).items == []

    run(scenario())


def test_permission_refusals_carry_the_twilio_code(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            mine = await alice.create_channel(unique_name="alices")
            theirs = await bob.get_channel_by_sid(mine.sid)
            with pytest.raises(ChatError) as raised:
                await theirs.send_message("not a member yet")
            assert (raised.value.code, raised.value.status) == (50107, 403)
            await theirs.join()
            await mine.send_message("by alice")
            [message] = (await theirs.get_messages()).items
            with pytest.raises(ChatError) as raised:
                await message.update(body="by bob now")
            assert raised.value.code == 50107
            with pytest.raises(ChatError) as raised:
                await theirs.destroy()
            assert raised.value.code == 50107

            private = await alice.create_channel(unique_name="secret", is_private=True)
            assert private.type == "private" and private.is_private
            with pytest.raises(ChatError) as raised:
                await bob.get_channel_by_unique_name("secret")
            assert (raised.value.code, raised.value.status) == (50300, 404)

    run(scenario())


def test_typing_reaches_the_other_members(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            theirs_hear = Recorder(bob, "typingStarted", "typingEnded")
            mine_hear = Recorder(alice, "typingStarted")
            mine, _ = await shared_channel(alice, bob)
            await mine.typing()
            [member] = await theirs_hear.wait("typingStarted")
            assert isinstance(member, Member)
            assert (member.identity, member.channel_sid) == ("alice", mine.sid)
            await mine.send_message("done typing")  # ends it
            [ended] = await theirs_hear.wait("typingEnded")
            assert ended.identity == "alice"
            assert mine_hear.of("typingStarted") == []  # not to the typist

    run(scenario())


def test_the_read_horizon_returns_the_unread_count(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            mine, theirs = await shared_channel(alice, bob)
            for i in range(5):
                await mine.send_message(f"m{i}")
            assert await theirs.update_last_consumed_message_index(1) == 3
            assert theirs.last_consumed_message_index == 1
            assert await theirs.update_last_consumed_message_index(4) == 0
            assert await theirs.update_last_consumed_message_index(None) == 5

    run(scenario())


def test_add_invite_decline_remove_and_leave(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob", "carol") as (alice, bob, carol):
            bob_hears = Recorder(bob, "channelJoined", "channelLeft")
            carol_hears = Recorder(carol, "channelInvited")
            alice_hears = Recorder(alice, "memberLeft")
            channel = await alice.create_channel(unique_name="room", is_private=True)

            member = await channel.add("bob")
            assert (member.identity, member.channel_sid) == ("bob", channel.sid)
            [joined] = await bob_hears.wait("channelJoined")
            assert joined.sid == channel.sid and joined.status == "joined"

            invite = await channel.invite("carol")
            assert (invite.identity, invite.channel_sid) == ("carol", channel.sid)
            [invited] = await carol_hears.wait("channelInvited")
            assert invited.status == "invited"
            await invited.decline_invitation()
            assert invited.status == "notParticipating"
            with pytest.raises(ChatError):
                await invited.join()  # private, and the invitation is gone

            await channel.remove_member("bob")
            [left] = await bob_hears.wait("channelLeft")
            assert left is joined and left.status == "notParticipating"
            await alice_hears.wait("memberLeft", where=lambda m: m.identity == "bob")

            await channel.leave()
            assert channel.status == "notParticipating"

    run(scenario())


def test_destroying_a_channel_tells_its_members(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            removed = Recorder(bob, "channelRemoved")
            mine, theirs = await shared_channel(alice, bob)
            await mine.destroy()
            [channel] = await removed.wait("channelRemoved")
            assert channel is theirs
            with pytest.raises(ChatError) as raised:
                await bob.get_channel_by_sid(mine.sid)
            assert raised.value.code == 50300

    run(scenario())


def test_subscribed_and_public_channels_page(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            for i in range(3):
                await alice.create_channel(unique_name=f"public-{i}")
            await alice.create_channel(unique_name="hidden", is_private=True)
            await (await bob.get_channel_by_unique_name("public-1")).join()

            public = await two_pages(await bob.get_public_channels(page_size=2))
            assert [c.unique_name for c in public] == ["public-0", "public-1", "public-2"]

            subscribed = await bob.get_subscribed_channels()
            assert [c.unique_name for c in subscribed.items] == ["public-1"]
            assert subscribed.items[0].status == "joined"
            mine = await alice.get_subscribed_channels()
            assert len(mine.items) == 4

    run(scenario())


def test_members_of_a_channel_page_in_the_order_they_joined(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob", "carol") as (alice, bob, carol):
            mine, _ = await shared_channel(alice, bob)
            await (await carol.get_channel_by_sid(mine.sid)).join()
            members = await two_pages(await mine.get_members(page_size=2))
            assert all(isinstance(m, Member) and m.channel_sid == mine.sid for m in members)
            identities = [m.identity for m in members]
            assert identities == ["alice", "bob", "carol"]
            assert [m.identity for m in (await mine.get_members()).items] == identities

    run(scenario())


def test_user_updates_reach_the_user_and_their_channels(live_server: ChatService) -> None:
    async def scenario() -> None:
        async with clients(live_server, "alice", "bob") as (alice, bob):
            await shared_channel(alice, bob)
            bob_hears = Recorder(bob, "userUpdated")
            user = await alice.user.update_friendly_name("Alice A.")
            assert user is alice.user and alice.user.friendly_name == "Alice A."
            await alice.user.update_attributes({"team": "blue"})
            assert alice.user.attributes == {"team": "blue"}
            [first, *_] = await bob_hears.wait("userUpdated")
            assert isinstance(first, User) and first.identity == "alice"
            assert (await bob.get_user("alice")).attributes == {"team": "blue"}

    run(scenario())
