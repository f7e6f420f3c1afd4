"""backchannel.js in a real browser: two users chat, tokens renew on the live connection, a refused
token stops the client, typing and read horizons, history paging, reconnect with resume."""

from __future__ import annotations

import time
from typing import Any

from .support import Tab, Web, states_of


def joined_pair(web: Web) -> tuple[Tab, Tab, str]:
    """alice creates #general, bob joins it; both pages hold it as ``window.channel``."""
    alice, bob = web.open("alice"), web.open("bob")
    for tab in (alice, bob):
        result = tab.connect(web.token(tab.label))
        assert result["ok"], (result, tab.console)
    sid: str = alice.js(
        """async () => {
            window.channel = await client.createChannel(
                {friendlyName: "General", uniqueName: "general", attributes: {topic: "tests"}});
            recordChannel("channel", channel);
            return channel.sid;
        }"""
    )
    status = bob.js(
        """async () => {
            window.channel = await client.getChannelByUniqueName("general");
            recordChannel("channel", channel);
            await channel.join();
            return channel.status;
        }"""
    )
    assert status == "joined"
    alice.wait_event("memberJoined", "e.data.identity === 'bob'", label="channel")
    return alice, bob, sid


def test_two_users_chat_both_ways(web: Web) -> None:
    alice, bob, sid = joined_pair(web)
    assert alice.js("() => client.connectionState") == "connected"
    assert alice.js("() => client.user.identity") == "alice"

    index = alice.js("() => channel.sendMessage('hello bob', {mood: 'happy'})")
    assert index == 0
    [added] = bob.wait_event("messageAdded", "e.data.body === 'hello bob'", label="client")
    message = added["data"]
    assert message["author"] == "alice"
    assert message["index"] == 0
    assert message["channelSid"] == sid
    assert message["attributes"] == {"mood": "happy"}
    bob.wait_event("messageAdded", "e.data.body === 'hello bob'", label="channel")
    assert bob.js(
        """async () => {
            const page = await channel.getMessages(1);
            const m = page.items[0];
            return m.dateCreated instanceof Date && Math.abs(m.dateCreated - Date.now()) < 60000;
        }"""
    )

    assert bob.js("() => channel.sendMessage('hi alice')") == 1
    [reply] = alice.wait_event("messageAdded", "e.data.body === 'hi alice'", label="channel")
    assert reply["data"]["author"] == "bob"

    # Edit and remove: the other side sees both.
    alice.js(
        """async () => {
            const [first] = (await channel.getMessages(1, 0)).items;
            await first.updateBody('hello bob (edited)');
            const again = (await channel.getMessages(1, 0)).items[0];
            if (again.body !== 'hello bob (edited)') throw new Error(again.body);
        }"""
    )
    [updated] = bob.wait_event("messageUpdated", label="client")
    assert updated["data"]["body"] == "hello bob (edited)"
    assert updated["data"]["wasEdited"] is True
    bob.js("async () => (await channel.getMessages(1, 1)).items[0].remove()")
    [removed] = alice.wait_event("messageRemoved", label="channel")
    assert removed["data"]["index"] == 1

    # The user's own profile: bob, a member of alice's channel, hears of the change.
    name = alice.js(
        """async () => {
            await client.user.updateFriendlyName('Alice Liddell');
            await client.user.updateAttributes({avatar: 'rabbit'});
            return client.user.friendlyName;
        }"""
    )
    assert name == "Alice Liddell"
    user_events = bob.wait_event(
        "userUpdated", "e.data.identity === 'alice' && e.data.attributes.avatar === 'rabbit'"
    )
    assert user_events[-1]["data"]["friendlyName"] == "Alice Liddell"
    assert "attributes" in user_events[-1]["extra"]

    listed = bob.js(
        """async () => ({
            subscribed: (await client.getSubscribedChannels()).items.map((c) => c.uniqueName),
            public: (await client.getPublicChannelDescriptors()).items.map((c) => c.uniqueName),
            bySid: (await client.getChannelBySid(channel.sid)) === channel,
        })"""
    )
    assert listed == {"subscribed": ["general"], "public": ["general"], "bySid": True}

    alice.screenshot("web-sdk-chat-alice.png")
    bob.screenshot("web-sdk-chat-bob.png")


def test_short_token_renewed_through_provider_without_reconnect(web: Web) -> None:
    tab = web.open("alice")
    started = time.monotonic()
    result = tab.connect(web.token("alice", ttl=4), renewIdentity="alice", renewTtl=4)
    assert result == {"ok": True, "state": "connected"}
    # tokenAboutToExpire comes at half the lifetime of a short token: about every 2 s.
    tab.wait("() => named('tokenAboutToExpire').length >= 3", timeout=30_000)
    tab.wait("() => client.tokenExpiresIn() > 2.5", timeout=5_000)
    elapsed = time.monotonic() - started
    assert elapsed > 4, "the first token has expired by now"
    assert web.minted["alice"] >= 3

    assert states_of(tab) == ["connecting", "connected"], "renewal must not reconnect"
    assert tab.events("tokenExpired") == []
    assert all(0 < e["data"] <= 4 for e in tab.events("tokenAboutToExpire"))
    left = tab.js("() => client.tokenExpiresIn()")
    assert 0 < left <= 4.5
    index = tab.js(
        """async () => {
            const channel = await client.createChannel({uniqueName: 'after-renewals'});
            return channel.sendMessage('still here');
        }"""
    )
    assert index == 0
    assert states_of(tab) == ["connecting", "connected"]
    tab.screenshot("web-sdk-token-renewal.png")


def test_refused_token_denies_with_connection_error(web: Web) -> None:
    tab = web.open("alice")
    result = tab.connect(web.token("alice", secret="not-the-secret"))
    assert result["ok"] is False
    assert result["state"] == "denied"
    assert result["error"]["code"] == 20107
    assert result["error"]["closeCode"] == 4207
    [error] = tab.wait_event("connectionError")
    assert error["data"]["code"] == 20107
    tab.page.wait_for_timeout(1500)  # nothing more happens: no retry
    assert states_of(tab) == ["connecting", "denied"]
    assert len(tab.events("connectionError")) == 1
    assert tab.js("() => client.connectionState") == "denied"


def test_terminal_close_of_a_live_session(web: Web) -> None:
    tab = web.open("alice")
    assert tab.connect(web.token("alice"))["ok"]
    server = web.server
    web.rest.api.v2010.accounts(server.account_sid).keys(server.key_sid).delete()
    [error] = tab.wait_event("connectionError")
    assert error["data"]["code"] == 20103
    assert error["data"]["closeCode"] == 4203
    assert states_of(tab) == ["connecting", "connected", "denied"]


def test_expired_token_uses_the_provider_or_reports_token_expired(web: Web) -> None:
    now = int(time.time())
    expired = web.token("alice", nbf=now - 120, valid_until=now - 60)

    without = web.open("no-provider")
    result = without.connect(expired)
    assert result["ok"] is False
    assert result["error"]["code"] == 20104
    assert result["error"]["closeCode"] == 4104
    assert result["state"] == "disconnected"
    assert len(without.events("tokenExpired")) == 1
    assert without.events("connectionError") == []

    with_provider = web.open("provider")
    result = with_provider.connect(expired, renewIdentity="alice")
    assert result == {"ok": True, "state": "connected"}
    assert web.minted["alice"] == 1
    assert states_of(with_provider) == ["connecting", "connected"]
    assert with_provider.js("() => client.tokenExpiresIn()") > 3000


def test_typing_and_read_horizon(web: Web) -> None:
    web.rest.chat.v2.services(web.service_sid).update(typing_indicator_timeout=1)
    alice, bob, _ = joined_pair(web)

    alice.js("() => channel.typing()")
    [started] = bob.wait_event("typingStarted", label="channel")
    assert started["data"]["identity"] == "alice"
    bob.wait_event("typingEnded", label="channel")  # after the service's 1 s timeout
    assert bob.events("typingStarted", "client")[0]["data"]["identity"] == "alice"
    alice.page.wait_for_timeout(600)  # past the client-side throttle (half the timeout)
    alice.js("() => channel.typing()")
    bob.wait_event("typingStarted", label="channel", count=2)
    alice.js("() => channel.sendMessage('done typing')")  # a message ends typing at once
    bob.wait_event("typingEnded", label="channel", count=2)
    assert alice.events("typingStarted") == [], "the typist is not told of their own typing"

    alice.js(
        "async () => { for (const b of ['one', 'two', 'three']) await channel.sendMessage(b) }"
    )
    bob.wait_event("messageAdded", label="channel", count=4)
    horizon = bob.js(
        """async () => ({
            unread: await channel.updateLastConsumedMessageIndex(1),
            index: channel.lastConsumedMessageIndex,
        })"""
    )
    assert horizon == {"unread": 2, "index": 1}
    alice.wait_event(
        "memberUpdated",
        "e.data.identity === 'bob' && e.data.lastConsumedMessageIndex === 1",
        label="channel",
    )
    assert bob.js("() => channel.setAllMessagesConsumed()") == 0
    assert bob.js("() => channel.lastConsumedMessageIndex") == 3
    assert bob.js("() => channel.setNoMessagesConsumed()") == 4
    assert bob.js("() => channel.lastConsumedMessageIndex") is None


def test_get_members_lists_every_member(web: Web) -> None:
    _, bob, sid = joined_pair(web)
    members = bob.js(
        """async () => (await channel.getMembers()).map(
            (m) => [m.identity, m.channelSid, typeof m.roleSid, m.dateCreated instanceof Date])"""
    )
    assert members == [["alice", sid, "string", True], ["bob", sid, "string", True]]


def test_get_messages_pages_both_ways(web: Web) -> None:
    alice, bob, _ = joined_pair(web)
    alice.js("async () => { for (let i = 0; i < 7; i++) await channel.sendMessage(`m${i}`) }")
    pages: dict[str, Any] = bob.js(
        """async () => {
            const show = (p) => ({indexes: p.items.map((m) => m.index),
                                  bodies: p.items.map((m) => m.body), more: p.hasNextPage});
            const back = [await channel.getMessages(3)];
            while (back.at(-1).hasNextPage) back.push(await back.at(-1).nextPage());
            let pastTheEnd = null;
            try { await back.at(-1).nextPage() } catch (e) { pastTheEnd = e.name }
            const fwd = [await channel.getMessages(4, 0, 'forwards')];
            fwd.push(await fwd[0].nextPage());
            return {back: back.map(show), fwd: fwd.map(show), pastTheEnd,
                    anchored: show(await channel.getMessages(3, 2))};
        }"""
    )
    assert [p["indexes"] for p in pages["back"]] == [[4, 5, 6], [1, 2, 3], [0]]
    assert [p["more"] for p in pages["back"]] == [True, True, False]
    assert pages["back"][0]["bodies"] == ["m4", "m5", "m6"]
    assert pages["pastTheEnd"] == "RangeError"
    assert [p["indexes"] for p in pages["fwd"]] == [[0, 1, 2, 3], [4, 5, 6]]
    assert [p["more"] for p in pages["fwd"]] == [True, False]
    assert pages["anchored"]["indexes"] == [0, 1, 2]


def test_reconnect_resumes_missed_messages_and_sends_queued_ones(web: Web) -> None:
    alice, bob, _ = joined_pair(web)
    alice.js("() => channel.sendMessage('before')")
    bob.wait_event("messageAdded", "e.data.body === 'before'", label="channel")
    alice.js("() => client._connection.backoff = new bc.Backoff({initial: 1.5, jitter: 0})")

    # The socket drops (as if the network went); alice waits 1.5 s before reconnecting.
    alice.js("() => client._connection._drop(1006, '')")
    alice.wait("() => client.connectionState === 'connecting'")
    bob.js("() => channel.sendMessage('while you were away')")
    alice.js("() => { window.queued = channel.sendMessage('sent while offline') }")

    alice.wait_event("messageAdded", "e.data.body === 'while you were away'", label="channel")
    assert alice.js("() => queued") == 2
    bob.wait_event("messageAdded", "e.data.body === 'sent while offline'", label="channel")
    alice.page.wait_for_timeout(500)
    assert states_of(alice) == ["connecting", "connected", "connecting", "connected"]
    bodies = [e["data"]["body"] for e in alice.events("messageAdded", "channel")]
    assert bodies.count("while you were away") == 1, bodies
    assert [e["data"]["body"] for e in bob.events("messageAdded", "channel")].count(
        "sent while offline"
    ) == 1
    history = bob.js("async () => (await channel.getMessages(10)).items.map((m) => m.body)")
    assert history == ["before", "while you were away", "sent while offline"]
