"""Channel members through the official twilio client against a real server."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from backchannel.store.tables import members, users

from .seed import channel_counters, count_rows, joined_channels, make_channel, user_row

MISSING_CHANNEL = "CH" + "0" * 32
MISSING_MEMBER = "MB" + "0" * 32


@pytest.fixture
def service(server):
    return server.twilio_client().chat.v2.services.create(friendly_name="members")


@pytest.fixture
def channel(server, service):
    return make_channel(server, service.sid, unique_name="general")


def _members(server, service, channel):
    return server.twilio_client().chat.v2.services(service.sid).channels(channel).members


def _error(call):
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_create_fetch_update_delete_member(server, service, channel):
    members_ = _members(server, service, channel)
    member = members_.create(identity="alice", attributes='{"nick": "al"}')
    assert member.sid.startswith("MB")
    assert member.account_sid == server.account_sid
    assert (member.service_sid, member.channel_sid) == (service.sid, channel)
    assert member.identity == "alice"
    assert member.role_sid == service.default_channel_role_sid
    assert member.last_consumed_message_index is None
    assert member.last_consumption_timestamp is None
    assert json.loads(member.attributes) == {"nick": "al"}
    assert member.url == (
        f"{server.url}/v2/Services/{service.sid}/Channels/{channel}/Members/{member.sid}"
    )
    assert member.date_created == member.date_updated

    assert members_(member.sid).fetch().identity == "alice"
    assert members_("alice").fetch().sid == member.sid

    updated = members_("alice").update(last_consumed_message_index=4, attributes="{}")
    assert updated.last_consumed_message_index == 4
    assert updated.last_consumption_timestamp is not None
    assert updated.attributes == "{}"
    assert members_(member.sid).fetch().last_consumed_message_index == 4

    assert members_(member.sid).delete() is True
    assert _error(members_(member.sid).fetch) == (404, 50402)
    assert _error(members_("alice").fetch) == (404, 50402)


def test_adding_a_member_creates_its_user_with_the_default_service_role(server, service, channel):
    _members(server, service, channel).create(identity="new-person")
    user = user_row(server, service.sid, "new-person")
    assert user is not None
    assert user["role_sid"] == service.default_service_role_sid
    assert user["joined_channels_count"] == 1
    assert count_rows(server, members, user_sid=user["sid"]) == 1


@pytest.mark.parametrize("identity", ["user@example.com", "José Ñ", "MB" + "a" * 32, "a+b=c"])
def test_members_are_found_by_unusual_identities(server, service, channel, identity):
    members_ = _members(server, service, channel)
    member = members_.create(identity=identity)
    assert member.identity == identity
    assert members_(identity).fetch().sid == member.sid
    assert members_(member.sid).fetch().identity == identity
    assert [m.sid for m in members_.list(identity=[identity])] == [member.sid]
    assert members_(identity).delete() is True
    assert channel_counters(server, channel)["members_count"] == 0


def test_members_counters_follow_creates_and_deletes(server, service, channel):
    other = make_channel(server, service.sid)
    created = [_members(server, service, channel).create(identity=f"u{i}") for i in range(3)]
    _members(server, service, other).create(identity="u0")
    assert channel_counters(server, channel)["members_count"] == 3
    assert channel_counters(server, other)["members_count"] == 1
    assert joined_channels(server, service.sid, "u0") == 2
    _members(server, service, channel)(created[0].sid).delete()
    assert channel_counters(server, channel)["members_count"] == 2
    assert joined_channels(server, service.sid, "u0") == 1
    assert _error(_members(server, service, channel)(created[0].sid).delete) == (404, 50402)
    assert channel_counters(server, channel)["members_count"] == 2


def test_channel_is_addressed_by_sid_or_unique_name(server, service, channel):
    by_name = _members(server, service, "general").create(identity="bob")
    assert by_name.channel_sid == channel
    assert by_name.url.endswith(f"/Channels/{channel}/Members/{by_name.sid}")
    assert [m.sid for m in _members(server, service, channel).list()] == [by_name.sid]


def test_an_identity_is_a_member_once(server, service, channel):
    members_ = _members(server, service, channel)
    members_.create(identity="carol")
    assert _error(lambda: members_.create(identity="carol")) == (409, 50404)
    assert channel_counters(server, channel)["members_count"] == 1
    assert joined_channels(server, service.sid, "carol") == 1
    # Identities are case-sensitive.
    assert members_.create(identity="Carol").identity == "Carol"


def test_create_with_every_parameter(server, service, channel):
    roles = server.twilio_client().chat.v2.services(service.sid).roles
    moderator = roles.create(friendly_name="moderator", type="channel", permission=["sendMessage"])
    created_at = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    member = _members(server, service, channel).create(
        identity="dave",
        role_sid=moderator.sid,
        last_consumed_message_index=7,
        last_consumption_timestamp=datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC),
        date_created=created_at,
        attributes='{"a": 1}',
    )
    assert member.role_sid == moderator.sid
    assert member.last_consumed_message_index == 7
    assert member.last_consumption_timestamp == datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert member.date_created == created_at
    assert member.date_updated == created_at


def test_update_role_and_dates(server, service, channel):
    members_ = _members(server, service, channel)
    member = members_.create(identity="erin")
    updated = members_(member.sid).update(
        role_sid=service.default_channel_creator_role_sid,
        date_updated=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert updated.role_sid == service.default_channel_creator_role_sid
    assert updated.date_updated == datetime(2030, 1, 1, tzinfo=UTC)
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Members/{member.sid}"
        cleared = http.post(url, data={"LastConsumedMessageIndex": ""}).json()
    assert cleared["last_consumed_message_index"] is None


@pytest.mark.parametrize("role", ["deployment", "missing", "malformed"])
def test_role_must_be_a_channel_role_of_the_service(server, service, channel, role):
    role_sid = {
        "deployment": service.default_service_role_sid,
        "missing": "RL" + "0" * 32,
        "malformed": "RL-not-a-role",
    }[role]
    members_ = _members(server, service, channel)
    assert _error(lambda: members_.create(identity="frank", role_sid=role_sid)) == (400, 20001)
    assert count_rows(server, members, channel_sid=channel) == 0
    assert count_rows(server, users, service_sid=service.sid) == 0
    member = members_.create(identity="frank")
    assert _error(lambda: members_(member.sid).update(role_sid=role_sid)) == (400, 20001)
    assert members_(member.sid).fetch().role_sid == service.default_channel_role_sid


def test_another_services_role_is_refused(server, service, channel):
    elsewhere = server.twilio_client().chat.v2.services.create(friendly_name="elsewhere")
    members_ = _members(server, service, channel)
    role = elsewhere.default_channel_role_sid
    assert _error(lambda: members_.create(identity="gina", role_sid=role)) == (400, 20001)


def test_channel_member_limit_is_enforced_and_nothing_is_stored(server, service, channel):
    server.twilio_client().chat.v2.services(service.sid).update(limits_channel_members=2)
    members_ = _members(server, service, channel)
    members_.create(identity="one")
    members_.create(identity="two")
    assert _error(lambda: members_.create(identity="three")) == (400, 50403)
    assert channel_counters(server, channel)["members_count"] == 2
    assert joined_channels(server, service.sid, "three") is None
    assert [m.identity for m in members_.list()] == ["one", "two"]


def test_user_channel_limit_is_enforced_and_nothing_is_stored(server, service, channel):
    server.twilio_client().chat.v2.services(service.sid).update(limits_user_channels=1)
    second = make_channel(server, service.sid)
    _members(server, service, channel).create(identity="busy")
    assert _error(lambda: _members(server, service, second).create(identity="busy")) == (
        400,
        50208,
    )
    assert joined_channels(server, service.sid, "busy") == 1
    assert channel_counters(server, second)["members_count"] == 0
    assert _members(server, service, second).list() == []


def test_list_members_through_several_pages_and_by_identity(server, service, channel):
    members_ = _members(server, service, channel)
    created = [members_.create(identity=f"p{i}").sid for i in range(7)]
    assert [m.sid for m in members_.list(page_size=3)] == created
    assert [m.sid for m in members_.list(limit=5, page_size=2)] == created[:5]
    page = members_.page(page_size=3)
    assert [m.sid for m in page] == created[:3]
    assert [m.sid for m in page.next_page().next_page()] == created[6:]
    assert [m.identity for m in members_.list(identity=["p5", "p1", "nobody"])] == ["p1", "p5"]
    with server.http() as http:
        body = http.get(
            f"/v2/Services/{service.sid}/Channels/{channel}/Members",
            params=[("Identity", "p2"), ("Identity", "p3"), ("PageSize", "1")],
        ).json()
        assert body["meta"]["key"] == "members"
        assert [m["identity"] for m in body["members"]] == ["p2"]
        following = http.get(body["meta"]["next_page_url"]).json()
    assert [m["identity"] for m in following["members"]] == ["p3"]
    assert following["meta"]["next_page_url"] is None


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"Identity": ""},
        {"Identity": "x" * 257},
        {"Identity": "nul\x00byte"},
        {"Identity": "ok", "Attributes": "not json"},
        {"Identity": "ok", "Attributes": "[1, 2]"},
        {"Identity": "ok", "Attributes": json.dumps({"k": "v" * 17000})},
        {"Identity": "ok", "LastConsumedMessageIndex": "three"},
        {"Identity": "ok", "LastConsumedMessageIndex": "-1"},
        {"Identity": "ok", "LastConsumedMessageIndex": "99999999999999999999"},
        {"Identity": "ok", "LastConsumptionTimestamp": "yesterday"},
        {"Identity": "ok", "DateCreated": "2020-13-45T00:00:00Z"},
        {"Identity": "ok", "DateUpdated": "9" * 100},
        {"Identity": "ok", "RoleSid": "RL" + "g" * 32},
    ],
)
def test_create_rejects_bad_input_and_changes_nothing(server, service, channel, data):
    with server.http() as http:
        response = http.post(f"/v2/Services/{service.sid}/Channels/{channel}/Members", data=data)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 20001
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20001"
    assert channel_counters(server, channel)["members_count"] == 0
    assert count_rows(server, members, channel_sid=channel) == 0
    assert count_rows(server, users, service_sid=service.sid) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"Attributes": "{"},
        {"LastConsumedMessageIndex": "1.5"},
        {"LastConsumptionTimestamp": "\x00"},
        {"RoleSid": "nope"},
        {"DateCreated": "2020-01-01T00:00:00Z", "Attributes": "7"},
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(server, service, channel, data):
    member = _members(server, service, channel).create(identity="steady", attributes='{"a":1}')
    url = f"/v2/Services/{service.sid}/Channels/{channel}/Members/{member.sid}"
    with server.http() as http:
        response = http.post(url, data=data)
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        after = http.get(url).json()
    assert after["attributes"] == '{"a":1}'
    assert after["date_created"] == after["date_updated"]
    assert after["last_consumed_message_index"] is None


@pytest.mark.parametrize(
    "key", ["%00", "MB" + "0" * 32, "x" * 300, "%F0%9F%92%A9", "MBnot-a-sid", "..%2F.."]
)
def test_unknown_or_hostile_member_keys_answer_404(server, service, channel, key):
    _members(server, service, channel).create(identity="someone")
    with server.http() as http:
        base = f"/v2/Services/{service.sid}/Channels/{channel}/Members/"
        for method in ("GET", "POST", "DELETE"):
            response = http.request(method, base + key)
            assert response.status_code == 404, response.text
            assert response.json()["code"] in (50402, 20404)
    assert channel_counters(server, channel)["members_count"] == 1


@pytest.mark.parametrize("channel_key", [MISSING_CHANNEL, "no-such-name", "%00", "y" * 300])
def test_missing_channel_answers_50300(server, service, channel_key):
    with server.http() as http:
        base = f"/v2/Services/{service.sid}/Channels/{channel_key}/Members"
        for method, url in (("GET", base), ("POST", base), ("GET", base + "/alice")):
            response = http.request(method, url, data={"Identity": "alice"})
            assert (response.status_code, response.json()["code"]) == (404, 50300)
    assert count_rows(server, users, service_sid=service.sid) == 0


def test_another_accounts_members_answer_like_missing_ones(server, service, channel):
    member = _members(server, service, channel).create(identity="private")
    other = server.new_tenant()
    theirs = other.twilio_client().chat.v2.services(service.sid).channels(channel).members
    assert _error(lambda: theirs.create(identity="intruder")) == (404, 20404)
    assert _error(theirs(member.sid).fetch) == (404, 20404)
    assert _error(lambda: theirs(member.sid).update(attributes="{}")) == (404, 20404)
    assert _error(theirs(member.sid).delete) == (404, 20404)
    with other.http() as http:
        foreign = http.get(f"/v2/Services/{service.sid}/Channels/{channel}/Members")
        missing = http.get(f"/v2/Services/{'IS' + '0' * 32}/Channels/{channel}/Members")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"]
    # Their own service cannot reach my channel either.
    their_service = other.twilio_client().chat.v2.services.create(friendly_name="theirs")
    via_theirs = other.twilio_client().chat.v2.services(their_service.sid).channels(channel)
    assert _error(lambda: via_theirs.members.create(identity="intruder")) == (404, 50300)
    assert [m.identity for m in _members(server, service, channel).list()] == ["private"]
    assert channel_counters(server, channel)["members_count"] == 1


def _concurrently(count, task):
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(task, range(count)))


def test_concurrent_creates_keep_the_counters_exact(server, service, channel):
    second = make_channel(server, service.sid)

    def add(i):
        with server.http() as http:
            base = f"/v2/Services/{service.sid}/Channels"
            first = http.post(f"{base}/{channel}/Members", data={"Identity": f"c{i}"})
            again = http.post(f"{base}/{second}/Members", data={"Identity": f"c{i % 4}"})
            return first.status_code, again.status_code

    results = _concurrently(20, add)
    assert [first for first, _ in results] == [201] * 20
    assert sorted(again for _, again in results) == [201] * 4 + [409] * 16
    assert channel_counters(server, channel)["members_count"] == 20
    assert channel_counters(server, second)["members_count"] == 4
    assert count_rows(server, members, channel_sid=channel) == 20
    for i in range(20):
        assert joined_channels(server, service.sid, f"c{i}") == (2 if i < 4 else 1)


def test_concurrent_creates_respect_the_channel_member_limit(server, service, channel):
    server.twilio_client().chat.v2.services(service.sid).update(limits_channel_members=5)

    def add(i):
        with server.http() as http:
            url = f"/v2/Services/{service.sid}/Channels/{channel}/Members"
            response = http.post(url, data={"Identity": f"l{i}"})
            return response.status_code, response.json().get("code")

    results = _concurrently(20, add)
    assert sorted(status for status, _ in results) == [201] * 5 + [400] * 15
    assert {code for status, code in results if status == 400} == {50403}
    assert channel_counters(server, channel)["members_count"] == 5
    assert count_rows(server, members, channel_sid=channel) == 5
    assert count_rows(server, users, service_sid=service.sid) == 5


def test_concurrent_deletes_count_a_member_out_once(server, service, channel):
    member = _members(server, service, channel).create(identity="leaver")

    def remove(_):
        with server.http() as http:
            url = f"/v2/Services/{service.sid}/Channels/{channel}/Members/{member.sid}"
            return http.delete(url).status_code

    assert sorted(_concurrently(8, remove)) == [204] + [404] * 7
    assert channel_counters(server, channel)["members_count"] == 0
    assert joined_channels(server, service.sid, "leaver") == 0
