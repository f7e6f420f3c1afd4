"""Channels through the official twilio client against a real server."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from backchannel.store.tables import invites, members, messages

from . import rows

MISSING_CHANNEL = "CH" + "0" * 32
MISSING_SERVICE = "IS" + "0" * 32


@pytest.fixture
def service(server):
    return server.twilio_client().chat.v2.services.create(friendly_name="channels")


def _channels(server, service):
    return server.twilio_client().chat.v2.services(service.sid).channels


def _error(call):
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_create_fetch_update_delete_channel(server, service):
    channels = _channels(server, service)
    channel = channels.create(friendly_name="General", unique_name="general")
    assert channel.sid.startswith("CH") and len(channel.sid) == 34
    assert channel.account_sid == server.account_sid
    assert channel.service_sid == service.sid
    assert (channel.friendly_name, channel.unique_name) == ("General", "general")
    assert channel.attributes == "{}"
    assert channel.type == "public"
    assert channel.created_by == "system"
    assert (channel.members_count, channel.messages_count) == (0, 0)
    assert channel.date_updated == channel.date_created
    url = f"{server.url}/v2/Services/{service.sid}/Channels/{channel.sid}"
    assert channel.url == url
    assert channel.links == {
        "members": f"{url}/Members",
        "messages": f"{url}/Messages",
        "invites": f"{url}/Invites",
        "webhooks": f"{url}/Webhooks",
        "last_message": None,
    }

    assert channels(channel.sid).fetch().unique_name == "general"
    assert channels("general").fetch().sid == channel.sid

    updated = channels("general").update(
        friendly_name="Lobby", unique_name="lobby", attributes='{"topic": "hi"}', created_by="bob"
    )
    assert (updated.friendly_name, updated.unique_name) == ("Lobby", "lobby")
    assert json.loads(updated.attributes) == {"topic": "hi"}
    assert updated.created_by == "bob"
    assert channels("lobby").fetch().sid == channel.sid
    assert _error(channels("general").fetch) == (404, 50300)

    assert channels("lobby").delete() is True
    assert _error(channels(channel.sid).fetch) == (404, 50300)
    assert channels.list() == []


def test_create_with_every_parameter(server, service):
    created = datetime(2015, 12, 16, 22, 18, 37, tzinfo=UTC)
    updated = datetime(2016, 1, 2, 3, 4, 5, tzinfo=UTC)
    channel = _channels(server, service).create(
        friendly_name="Restored",
        unique_name="restored",
        attributes='{"from": "backup"}',
        type="private",
        created_by="alice",
        date_created=created,
        date_updated=updated,
    )
    assert channel.type == "private"
    assert channel.created_by == "alice"
    assert channel.attributes == '{"from": "backup"}'
    assert (channel.date_created, channel.date_updated) == (created, updated)


def test_dates_with_offsets_are_kept_in_utc(server, service):
    with server.http() as http:
        body = http.post(
            f"/v2/Services/{service.sid}/Channels",
            data={"DateCreated": "2020-05-01T12:00:00+02:00"},
        ).json()
    assert body["date_created"] == body["date_updated"] == "2020-05-01T10:00:00Z"


def test_update_can_set_dates_and_clear_the_unique_name(server, service):
    channels = _channels(server, service)
    channel = channels.create(unique_name="temporary")
    moment = datetime(2019, 7, 1, tzinfo=UTC)
    updated = channels(channel.sid).update(unique_name="", date_updated=moment)
    assert updated.unique_name is None
    assert updated.date_updated == moment
    assert _error(channels("temporary").fetch) == (404, 50300)
    # A later update without DateUpdated stamps it with the current time.
    assert channels(channel.sid).update(friendly_name="x").date_updated > moment


def test_unique_name_is_unique_per_service(server, service):
    channels = _channels(server, service)
    first = channels.create(unique_name="room")
    assert _error(lambda: channels.create(unique_name="room")) == (409, 50307)
    second = channels.create(unique_name="Room")  # case-sensitive, like identities
    assert _error(lambda: channels(second.sid).update(unique_name="room")) == (409, 50307)
    assert channels(second.sid).fetch().unique_name == "Room"
    assert channels(first.sid).update(unique_name="room").unique_name == "room"
    unnamed = [channels.create().sid for _ in range(2)]  # many channels without a unique name
    assert all(channels(sid).fetch().unique_name is None for sid in unnamed)
    other = server.twilio_client().chat.v2.services.create(friendly_name="other")
    assert _channels(server, other).create(unique_name="room").sid != first.sid


def test_concurrent_creates_of_one_unique_name_make_one_channel(server, service):
    def create(_):
        with server.http() as http:
            return http.post(f"/v2/Services/{service.sid}/Channels", data={"UniqueName": "hot"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(create, range(8)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {50307}
    assert len(_channels(server, service).list()) == 1


def test_list_channels_through_several_pages_and_by_type(server, service):
    channels = _channels(server, service)
    kinds = ["public", "private", "public", "private", "public"]
    created = [channels.create(friendly_name=f"c{i}", type=k).sid for i, k in enumerate(kinds)]
    assert [c.sid for c in channels.list(page_size=2)] == created
    assert [c.sid for c in channels.list(limit=3, page_size=2)] == created[:3]
    public = [sid for sid, kind in zip(created, kinds, strict=True) if kind == "public"]
    assert [c.sid for c in channels.list(type=["public"], page_size=2)] == public
    private = [c.sid for c in channels.list(type="private")]
    assert private == [sid for sid in created if sid not in public]
    assert [c.sid for c in channels.list(type=["public", "private"])] == created

    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels"
        page = http.get(url, params={"PageSize": 2, "Type": "public"}).json()
        assert page["meta"]["key"] == "channels"
        following = http.get(page["meta"]["next_page_url"]).json()
        assert [c["sid"] for c in following["channels"]] == public[2:]
        bad = http.get(url, params={"Type": "secret"})
        assert (bad.status_code, bad.json()["code"]) == (400, 20001)


@pytest.mark.parametrize(
    "data",
    [
        {"Type": "secret"},
        {"Type": ""},
        {"Attributes": "not json"},
        {"Attributes": "[]"},
        {"Attributes": json.dumps({"k": "v" * 16 * 1024})},
        {"FriendlyName": "f" * 257},
        {"UniqueName": "u" * 257},
        {"UniqueName": MISSING_CHANNEL},
        {"UniqueName": "nul\x00"},
        {"CreatedBy": ""},
        {"CreatedBy": "c" * 257},
        {"DateCreated": "yesterday"},
        {"DateUpdated": "2020-13-01T00:00:00Z"},
        {"DateCreated": "9999-12-31T23:59:59-05:00"},
        {"DateCreated": "0001-01-01T00:00:00Z"},
        {"DateUpdated": "1969-12-31T23:59:59Z"},
        {"Attributes": "[" * 10_000},
    ],
)
def test_create_rejects_bad_input_and_creates_nothing(server, service, data):
    with server.http() as http:
        response = http.post(f"/v2/Services/{service.sid}/Channels", data=data)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 20001
        assert http.get(f"/v2/Services/{service.sid}/Channels").json()["channels"] == []


@pytest.mark.parametrize(
    "data",
    [
        {"FriendlyName": "fine", "Attributes": "{"},
        {"UniqueName": "u" * 257},
        {"CreatedBy": ""},
        {"DateCreated": "soon"},
        {"FriendlyName": "x" * 257},
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(server, service, data):
    channel = _channels(server, service).create(friendly_name="steady", unique_name="steady")
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel.sid}"
        response = http.post(url, data=data)
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        after = http.get(url).json()
    assert (after["friendly_name"], after["unique_name"]) == ("steady", "steady")
    assert after["attributes"] == "{}"
    assert after["created_by"] == "system"
    assert after["date_updated"] == after["date_created"]


def test_update_ignores_type(server, service):
    channel = _channels(server, service).create(type="private")
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel.sid}"
        assert http.post(url, data={"Type": "public"}).json()["type"] == "private"


def test_missing_channels_answer_50300(server, service):
    channels = _channels(server, service)
    for name in (MISSING_CHANNEL, "nothing", "CHnot-a-sid", "%00", "u" * 300):
        assert _error(channels(name).fetch) == (404, 50300)
        assert _error(channels(name).delete) == (404, 50300)
        assert _error(lambda n=name: channels(n).update(friendly_name="x")) == (404, 50300)


def test_another_accounts_channels_answer_like_missing_ones(server, service):
    channel = _channels(server, service).create(unique_name="secret")
    other = server.new_tenant()
    theirs = other.twilio_client().chat.v2.services(service.sid).channels
    assert _error(theirs(channel.sid).fetch) == (404, 20404)
    assert _error(theirs("secret").delete) == (404, 20404)
    assert _error(lambda: theirs(channel.sid).update(friendly_name="pwned")) == (404, 20404)
    assert _error(lambda: theirs.create(unique_name="mine")) == (404, 20404)
    with other.http() as http:
        listed = http.get(f"/v2/Services/{service.sid}/Channels")
        missing = http.get(f"/v2/Services/{MISSING_SERVICE}/Channels")
    assert listed.status_code == missing.status_code == 404
    assert listed.json()["code"] == missing.json()["code"] == 20404
    # Within the owner's account, another service's channel is simply not in this service.
    sibling = server.twilio_client().chat.v2.services.create(friendly_name="sibling")
    assert _error(_channels(server, sibling)(channel.sid).fetch) == (404, 50300)
    assert _error(_channels(server, sibling)(MISSING_CHANNEL).fetch) == (404, 50300)
    kept = _channels(server, service)(channel.sid).fetch()
    assert (kept.unique_name, kept.friendly_name) == ("secret", None)


def test_counters_and_last_message_link(server, service):
    client = server.twilio_client().chat.v2.services(service.sid)
    channel = client.channels.create(friendly_name="busy")
    for identity in ("a", "b", "c"):
        rows.join(server, channel.sid, client.users.create(identity=identity).sid)
    sids = rows.post(server, channel.sid, 4)
    fetched = client.channels(channel.sid).fetch()
    assert (fetched.members_count, fetched.messages_count) == (3, 4)
    assert fetched.links["last_message"] == f"{fetched.url}/Messages/{sids[-1]}"
    listed = client.channels.list()[0]
    assert listed.links["last_message"] == fetched.links["last_message"]


def test_delete_removes_members_messages_invites_and_lowers_users_counts(server, service):
    client = server.twilio_client().chat.v2.services(service.sid)
    doomed = client.channels.create(unique_name="doomed")
    kept = client.channels.create(unique_name="kept")
    alice = client.users.create(identity="alice")
    bob = client.users.create(identity="bob")
    for user in (alice, bob):
        rows.join(server, doomed.sid, user.sid)
    rows.join(server, kept.sid, alice.sid)
    rows.post(server, doomed.sid, 3)
    rows.post(server, kept.sid, 1)
    rows.invite(server, doomed.sid, "carol")
    assert client.users(alice.sid).fetch().joined_channels_count == 2

    client.channels("doomed").delete()
    assert client.users(alice.sid).fetch().joined_channels_count == 1
    assert client.users(bob.sid).fetch().joined_channels_count == 0
    for table in (members, messages, invites):
        assert rows.count_rows(server, table, channel_sid=doomed.sid) == 0
    assert rows.count_rows(server, messages, channel_sid=kept.sid) == 1
    assert client.channels("kept").fetch().members_count == 1
    assert _error(client.channels("doomed").delete) == (404, 50300)
    # The unique name is free again.
    assert client.channels.create(unique_name="doomed").members_count == 0


def test_concurrent_channel_deletes_lower_each_users_count_once(server, service):
    client = server.twilio_client().chat.v2.services(service.sid)
    user = client.users.create(identity="everywhere")
    channel_sids = [client.channels.create().sid for _ in range(6)]
    for sid in channel_sids:
        rows.join(server, sid, user.sid)

    def delete(sid):
        with server.http() as http:
            return http.delete(f"/v2/Services/{service.sid}/Channels/{sid}").status_code

    # Each channel deleted three times at once: one 204 per channel, the rest 404.
    with ThreadPoolExecutor(9) as pool:
        statuses = list(pool.map(delete, channel_sids * 3))
    assert sorted(statuses) == [204] * 6 + [404] * 12
    assert client.users(user.sid).fetch().joined_channels_count == 0
