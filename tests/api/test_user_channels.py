"""UserChannels (a user's memberships) through the official twilio client against a real server.

Memberships and messages are written with ``rows`` (as the Members and Messages endpoints write
them), so these tests depend only on Users, Channels and UserChannels.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from backchannel.store.tables import members

from . import rows

MISSING_CHANNEL = "CH" + "0" * 32
MISSING_USER = "US" + "0" * 32


@pytest.fixture
def service(server):
    return server.twilio_client().chat.v2.services.create(friendly_name="user channels")


@pytest.fixture
def chat(server, service):
    return server.twilio_client().chat.v2.services(service.sid)


def _error(call):
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_list_and_fetch_a_users_channels(server, service, chat):
    user = chat.users.create(identity="alice")
    channel = chat.channels.create(unique_name="general")
    member_sid = rows.join(server, channel.sid, user.sid)

    [found] = chat.users(user.sid).user_channels.list()
    assert found.account_sid == server.account_sid
    assert found.service_sid == service.sid
    assert (found.channel_sid, found.user_sid, found.member_sid) == (
        channel.sid,
        user.sid,
        member_sid,
    )
    assert found.status == "joined"
    assert found.last_consumed_message_index is None
    assert found.unread_messages_count is None
    assert found.notification_level == "default"
    base = f"{server.url}/v2/Services/{service.sid}"
    assert found.url == f"{base}/Users/{user.sid}/Channels/{channel.sid}"
    assert found.links == {
        "channel": f"{base}/Channels/{channel.sid}",
        "member": f"{base}/Channels/{channel.sid}/Members/{member_sid}",
    }
    # The user by SID or identity, the channel by SID or unique name.
    for user_name in (user.sid, "alice"):
        for channel_name in (channel.sid, "general"):
            fetched = chat.users(user_name).user_channels(channel_name).fetch()
            assert fetched.member_sid == member_sid
            assert fetched.url == found.url


def test_list_through_several_pages(server, service, chat):
    user = chat.users.create(identity="busy")
    created = [chat.channels.create(friendly_name=f"c{i}").sid for i in range(5)]
    for sid in created:
        rows.join(server, sid, user.sid)
    other = chat.users.create(identity="other")
    rows.join(server, created[0], other.sid)
    listing = chat.users("busy").user_channels
    assert [c.channel_sid for c in listing.list(page_size=2)] == created
    assert [c.channel_sid for c in listing.list(limit=3, page_size=2)] == created[:3]
    first = listing.page(page_size=2)
    second = first.next_page()
    assert [c.channel_sid for c in second] == created[2:4]
    assert [c.channel_sid for c in second.previous_page()] == created[:2]
    assert [c.channel_sid for c in chat.users(other.sid).user_channels.list()] == created[:1]
    assert chat.users.create(identity="lonely").sid
    assert chat.users("lonely").user_channels.list() == []
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Users/busy/Channels"
        body = http.get(url, params={"PageSize": 2}).json()
    assert body["meta"]["key"] == "channels"


def test_consumption_horizon_and_unread_count(server, service, chat):
    user = chat.users.create(identity="reader")
    channel = chat.channels.create()
    rows.join(server, channel.sid, user.sid)
    rows.post(server, channel.sid, 5)  # indexes 0..4
    mine = chat.users(user.sid).user_channels(channel.sid)
    assert mine.fetch().unread_messages_count is None

    updated = mine.update(last_consumed_message_index=1)
    assert updated.last_consumed_message_index == 1
    assert updated.unread_messages_count == 3
    rows.post(server, channel.sid, 2)
    assert mine.fetch().unread_messages_count == 5
    assert mine.update(last_consumed_message_index=6).unread_messages_count == 0
    assert mine.update(last_consumed_message_index=0).unread_messages_count == 6

    moment = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    mine.update(last_consumption_timestamp=moment)

    async def timestamp(store):
        from sqlalchemy import select

        async with store.transaction() as conn:
            query = select(members.c.last_consumption_timestamp).where(
                members.c.user_sid == user.sid
            )
            return (await conn.execute(query)).scalar_one()

    assert server.run_store(timestamp) == moment.replace(tzinfo=None)
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Users/{user.sid}/Channels/{channel.sid}"
        body = http.post(url, data={"LastConsumedMessageIndex": ""}).json()
    assert body["last_consumed_message_index"] is None
    assert body["unread_messages_count"] is None


def test_notification_level(server, chat):
    user = chat.users.create(identity="quiet")
    channel = chat.channels.create()
    rows.join(server, channel.sid, user.sid)
    mine = chat.users(user.sid).user_channels(channel.sid)
    assert mine.update(notification_level="default").notification_level == "default"
    # "muted" has no column to live in yet: refused rather than acknowledged and forgotten.
    assert _error(lambda: mine.update(notification_level="muted")) == (400, 20001)
    assert _error(lambda: mine.update(notification_level="loud")) == (400, 20001)


@pytest.mark.parametrize(
    "data",
    [
        {"LastConsumedMessageIndex": "-1"},
        {"LastConsumedMessageIndex": "two"},
        {"LastConsumedMessageIndex": "99999999999999"},
        {"LastConsumptionTimestamp": "not a date"},
        {"NotificationLevel": "loud"},
        {"LastConsumedMessageIndex": "3", "NotificationLevel": "muted"},
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(server, service, chat, data):
    user = chat.users.create(identity="steady")
    channel = chat.channels.create()
    rows.join(server, channel.sid, user.sid)
    mine = chat.users(user.sid).user_channels(channel.sid)
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Users/{user.sid}/Channels/{channel.sid}"
        response = http.post(url, data=data)
    assert (response.status_code, response.json()["code"]) == (400, 20001)
    assert mine.fetch().last_consumed_message_index is None


def test_delete_is_leaving_the_channel(server, chat):
    alice = chat.users.create(identity="alice")
    bob = chat.users.create(identity="bob")
    channel = chat.channels.create(unique_name="room")
    rows.join(server, channel.sid, alice.sid)
    rows.join(server, channel.sid, bob.sid)
    assert chat.channels("room").fetch().members_count == 2

    assert chat.users("alice").user_channels("room").delete() is True
    assert chat.channels("room").fetch().members_count == 1
    assert chat.users(alice.sid).fetch().joined_channels_count == 0
    assert chat.users(bob.sid).fetch().joined_channels_count == 1
    assert chat.users(alice.sid).user_channels.list() == []
    assert rows.count_rows(server, members, channel_sid=channel.sid) == 1
    assert _error(chat.users(alice.sid).user_channels(channel.sid).fetch) == (404, 20404)
    assert _error(chat.users(alice.sid).user_channels(channel.sid).delete) == (404, 20404)
    assert chat.channels("room").fetch().members_count == 1


def test_concurrent_leaves_keep_counters_exact(server, service, chat):
    channel = chat.channels.create()
    users = [chat.users.create(identity=f"u{i}").sid for i in range(6)]
    for sid in users:
        rows.join(server, channel.sid, sid)

    def leave(user_sid):
        with server.http() as http:
            url = f"/v2/Services/{service.sid}/Users/{user_sid}/Channels/{channel.sid}"
            return http.delete(url).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(leave, users * 2))
    assert sorted(statuses) == [204] * 6 + [404] * 6
    assert chat.channels(channel.sid).fetch().members_count == 0
    assert all(chat.users(sid).fetch().joined_channels_count == 0 for sid in users)


def test_not_a_member_missing_user_and_missing_channel(server, service, chat):
    user = chat.users.create(identity="outsider")
    channel = chat.channels.create(unique_name="club")
    mine = chat.users(user.sid).user_channels
    assert _error(mine(channel.sid).fetch) == (404, 20404)
    assert _error(lambda: mine("club").update(last_consumed_message_index=1)) == (404, 20404)
    assert _error(mine("club").delete) == (404, 20404)
    for name in (MISSING_CHANNEL, "nowhere", "%00"):
        assert _error(mine(name).fetch) == (404, 50300)
    for name in (MISSING_USER, "nobody", "%00"):
        assert _error(chat.users(name).user_channels(channel.sid).fetch) == (404, 20404)
        with server.http() as http:
            response = http.get(f"/v2/Services/{service.sid}/Users/{name}/Channels")
        assert (response.status_code, response.json()["code"]) == (404, 20404)
    assert chat.channels("club").fetch().members_count == 0


def test_another_accounts_user_channels_answer_like_missing_ones(server, service, chat):
    user = chat.users.create(identity="alice")
    channel = chat.channels.create(unique_name="general")
    rows.join(server, channel.sid, user.sid)
    other = server.new_tenant()
    theirs = other.twilio_client().chat.v2.services(service.sid).users(user.sid).user_channels
    assert _error(theirs(channel.sid).fetch) == (404, 20404)
    assert _error(theirs(channel.sid).delete) == (404, 20404)
    assert _error(lambda: theirs(channel.sid).update(last_consumed_message_index=3)) == (
        404,
        20404,
    )
    with other.http() as http:
        response = http.get(f"/v2/Services/{service.sid}/Users/{user.sid}/Channels")
    assert (response.status_code, response.json()["code"]) == (404, 20404)
    # A user of one service is not found under the owner's other service.
    sibling = server.twilio_client().chat.v2.services.create(friendly_name="sibling")
    elsewhere = server.twilio_client().chat.v2.services(sibling.sid)
    assert _error(elsewhere.users(user.sid).user_channels(channel.sid).fetch) == (404, 20404)
    mine = chat.users(user.sid).user_channels(channel.sid).fetch()
    assert mine.last_consumed_message_index is None
    assert chat.channels(channel.sid).fetch().members_count == 1
