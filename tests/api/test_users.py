"""Users through the official twilio client against a real server."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from twilio.base.exceptions import TwilioRestException

from backchannel.store.tables import members

from . import rows

MISSING_USER = "US" + "0" * 32
MISSING_SERVICE = "IS" + "0" * 32


@pytest.fixture
def service(server):
    return server.twilio_client().chat.v2.services.create(friendly_name="users")


def _users(server, service):
    return server.twilio_client().chat.v2.services(service.sid).users


def _error(call):
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_create_fetch_update_delete_user(server, service):
    users = _users(server, service)
    user = users.create(identity="alice@example.com")
    assert user.sid.startswith("US") and len(user.sid) == 34
    assert user.account_sid == server.account_sid
    assert user.service_sid == service.sid
    assert user.identity == "alice@example.com"
    assert user.role_sid == service.default_service_role_sid
    assert user.attributes == "{}"
    assert user.friendly_name is None
    assert user.joined_channels_count == 0
    assert user.is_online is None and user.is_notifiable is None
    url = f"{server.url}/v2/Services/{service.sid}/Users/{user.sid}"
    assert user.url == url
    assert user.links == {"user_channels": f"{url}/Channels", "user_bindings": f"{url}/Bindings"}

    assert users(user.sid).fetch().identity == "alice@example.com"
    assert users("alice@example.com").fetch().sid == user.sid

    admin = next(
        r
        for r in server.twilio_client().chat.v2.services(service.sid).roles.list()
        if r.friendly_name == "service admin"
    )
    updated = users(user.sid).update(
        friendly_name="Alice", attributes='{"team": "red"}', role_sid=admin.sid
    )
    assert updated.friendly_name == "Alice"
    assert json.loads(updated.attributes) == {"team": "red"}
    assert updated.role_sid == admin.sid
    assert updated.date_created == user.date_created
    assert users("alice@example.com").fetch().friendly_name == "Alice"

    assert users("alice@example.com").delete() is True
    assert _error(users(user.sid).fetch) == (404, 20404)
    assert users.list() == []


def test_create_with_every_parameter(server, service):
    user = _users(server, service).create(
        identity="bob", friendly_name="Bob", attributes='{"a": [1, 2]}'
    )
    assert (user.friendly_name, user.attributes) == ("Bob", '{"a": [1, 2]}')


def test_identity_is_unique_per_service_and_case_sensitive(server, service):
    users = _users(server, service)
    first = users.create(identity="Alice")
    second = users.create(identity="alice")
    assert first.sid != second.sid
    assert users("Alice").fetch().sid == first.sid
    assert users("alice").fetch().sid == second.sid
    assert _error(lambda: users.create(identity="Alice")) == (409, 50201)
    other = server.twilio_client().chat.v2.services.create(friendly_name="other")
    assert _users(server, other).create(identity="Alice").sid != first.sid
    assert len(users.list()) == 2


def test_concurrent_creates_of_one_identity_make_one_user(server, service):
    def create(_):
        with server.http() as http:
            return http.post(f"/v2/Services/{service.sid}/Users", data={"Identity": "racer"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(create, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {50201}
    assert len(_users(server, service).list()) == 1


def test_list_users_through_several_pages(server, service):
    users = _users(server, service)
    created = [users.create(identity=f"user{i}").sid for i in range(5)]
    assert [u.sid for u in users.list(page_size=2)] == created
    assert [u.sid for u in users.list(limit=3, page_size=2)] == created[:3]
    first = users.page(page_size=2)
    assert [u.sid for u in first] == created[:2]
    second = first.next_page()
    assert [u.sid for u in second] == created[2:4]
    assert [u.sid for u in second.previous_page()] == created[:2]
    assert [u.sid for u in second.next_page()] == created[4:]
    with server.http() as http:
        meta = http.get(f"/v2/Services/{service.sid}/Users", params={"PageSize": 2}).json()["meta"]
    assert meta["key"] == "users"
    assert meta["next_page_url"].startswith(f"{server.url}/v2/Services/{service.sid}/Users?")


def test_role_must_be_a_deployment_role_of_this_service(server, service):
    users = _users(server, service)
    other = server.twilio_client().chat.v2.services.create(friendly_name="other")
    for role_sid in (
        service.default_channel_role_sid,  # a channel role
        other.default_service_role_sid,  # another service's role
        "RL" + "0" * 32,  # no such role
        "not-a-role",
        "RL" + "g" * 32,
    ):
        assert _error(lambda r=role_sid: users.create(identity="x", role_sid=r)) == (400, 20001)
    user = users.create(identity="y")
    assert _error(lambda: users(user.sid).update(role_sid=service.default_channel_role_sid)) == (
        400,
        20001,
    )
    assert users.list()[0].identity == "y"
    assert users(user.sid).fetch().role_sid == service.default_service_role_sid


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"Identity": ""},
        {"Identity": "   "},
        {"Identity": "x" * 257},
        {"Identity": "nul\x00byte"},
        {"Identity": "a", "Attributes": "not json"},
        {"Identity": "a", "Attributes": "[1, 2]"},
        {"Identity": "a", "Attributes": '"text"'},
        {"Identity": "a", "Attributes": ""},
        {"Identity": "a", "Attributes": json.dumps({"k": "v" * 16 * 1024})},
        {"Identity": "a", "Attributes": "[" * 10_000},
        {"Identity": "a", "Attributes": '{"a": ' * 5_000},
        {"Identity": "a", "FriendlyName": "f" * 257},
    ],
)
def test_create_rejects_bad_input_and_creates_nothing(server, service, data):
    with server.http() as http:
        response = http.post(f"/v2/Services/{service.sid}/Users", data=data)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == 20001 and body["status"] == 400
        assert http.get(f"/v2/Services/{service.sid}/Users").json()["users"] == []


def test_limits_are_inclusive(server, service):
    users = _users(server, service)
    identity = "é" * 256
    attributes = json.dumps({"k": "v" * (16 * 1024 - 9)})
    assert len(attributes.encode()) == 16 * 1024
    user = users.create(identity=identity, attributes=attributes, friendly_name="f" * 256)
    assert users(identity).fetch().sid == user.sid
    assert users(user.sid).fetch().attributes == attributes


@pytest.mark.parametrize(
    "data",
    [
        {"Attributes": "{"},
        {"Attributes": "null"},
        {"FriendlyName": "x" * 257},
        {"RoleSid": "RL" + "1" * 32},
        {"FriendlyName": "fine", "RoleSid": "bad"},
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(server, service, data):
    user = _users(server, service).create(identity="steady", friendly_name="S")
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Users/{user.sid}"
        response = http.post(url, data=data)
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        after = http.get(url).json()
    assert after["friendly_name"] == "S"
    assert after["attributes"] == "{}"
    assert after["role_sid"] == service.default_service_role_sid
    assert after["date_updated"] == after["date_created"]


def test_missing_users_answer_404(server, service):
    users = _users(server, service)
    for name in (MISSING_USER, "nobody", "US-not-a-sid", "%00"):
        assert _error(users(name).fetch) == (404, 20404)
        assert _error(users(name).delete) == (404, 20404)
        assert _error(lambda n=name: users(n).update(friendly_name="x")) == (404, 20404)


def test_missing_service_answers_404(server):
    users = server.twilio_client().chat.v2.services(MISSING_SERVICE).users
    assert _error(lambda: users.create(identity="a")) == (404, 20404)
    with server.http() as http:
        response = http.get(f"/v2/Services/{MISSING_SERVICE}/Users")
    assert (response.status_code, response.json()["code"]) == (404, 20404)


def test_another_accounts_users_answer_like_missing_ones(server, service):
    user = _users(server, service).create(identity="private")
    other = server.new_tenant()
    theirs = other.twilio_client().chat.v2.services(service.sid).users
    with other.http() as http:
        foreign = http.get(f"/v2/Services/{service.sid}/Users/{user.sid}")
        missing = http.get(f"/v2/Services/{MISSING_SERVICE}/Users/{MISSING_USER}")
        listed = http.get(f"/v2/Services/{service.sid}/Users")
    assert foreign.status_code == missing.status_code == listed.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == listed.json()["code"] == 20404
    assert _error(lambda: theirs.create(identity="intruder")) == (404, 20404)
    assert _error(lambda: theirs(user.sid).update(friendly_name="pwned")) == (404, 20404)
    assert _error(theirs("private").delete) == (404, 20404)
    # The same user SID under another service of the owner is not found either.
    sibling = server.twilio_client().chat.v2.services.create(friendly_name="sibling")
    assert _error(_users(server, sibling)(user.sid).fetch) == (404, 20404)
    mine = _users(server, service)(user.sid).fetch()
    assert (mine.identity, mine.friendly_name) == ("private", None)
    assert [u.identity for u in _users(server, service).list()] == ["private"]


def test_joined_channels_count_follows_memberships_and_delete_leaves_them(server, service):
    client = server.twilio_client().chat.v2.services(service.sid)
    user = client.users.create(identity="member")
    one = client.channels.create(friendly_name="one")
    two = client.channels.create(friendly_name="two")
    rows.join(server, one.sid, user.sid)
    rows.join(server, two.sid, user.sid)
    other = client.users.create(identity="stays")
    rows.join(server, one.sid, other.sid)
    assert client.users(user.sid).fetch().joined_channels_count == 2
    assert client.channels(one.sid).fetch().members_count == 2

    client.users(user.sid).delete()
    assert client.channels(one.sid).fetch().members_count == 1
    assert client.channels(two.sid).fetch().members_count == 0
    assert rows.count_rows(server, members, user_sid=user.sid) == 0
    assert client.users(other.sid).fetch().joined_channels_count == 1
    assert client.users.create(identity="member").joined_channels_count == 0


def test_concurrent_deletes_of_a_member_user_lower_channel_counts_once(server, service):
    client = server.twilio_client().chat.v2.services(service.sid)
    channel = client.channels.create()
    users = [client.users.create(identity=f"u{i}").sid for i in range(4)]
    for sid in users:
        rows.join(server, channel.sid, sid)

    def delete(sid):
        with server.http() as http:
            return http.delete(f"/v2/Services/{service.sid}/Users/{sid}").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(delete, users * 3))
    assert sorted(statuses) == [204] * 4 + [404] * 8
    assert client.channels(channel.sid).fetch().members_count == 0
