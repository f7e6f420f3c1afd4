"""Channel invites through the official twilio client against a real server."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from backchannel.store.tables import invites, users

from .seed import count_rows, make_channel

MISSING_INVITE = "IN" + "0" * 32


@pytest.fixture
def service(server):
    return server.twilio_client().chat.v2.services.create(friendly_name="invites")


@pytest.fixture
def channel(server, service):
    return make_channel(server, service.sid, unique_name="party")


def _invites(server, service, channel):
    return server.twilio_client().chat.v2.services(service.sid).channels(channel).invites


def _error(call):
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_create_fetch_list_delete_invite(server, service, channel):
    invites_ = _invites(server, service, channel)
    invite = invites_.create(identity="alice")
    assert invite.sid.startswith("IN")
    assert invite.account_sid == server.account_sid
    assert (invite.service_sid, invite.channel_sid) == (service.sid, channel)
    assert invite.identity == "alice"
    assert invite.role_sid == service.default_channel_role_sid
    assert invite.created_by == "system"
    assert invite.date_created == invite.date_updated
    assert invite.url == (
        f"{server.url}/v2/Services/{service.sid}/Channels/{channel}/Invites/{invite.sid}"
    )
    assert invites_(invite.sid).fetch().identity == "alice"
    assert [i.sid for i in invites_.list()] == [invite.sid]
    assert invites_(invite.sid).delete() is True
    assert _error(invites_(invite.sid).fetch) == (404, 50601)
    assert _error(invites_(invite.sid).delete) == (404, 50601)
    assert invites_.list() == []


def test_inviting_does_not_create_a_user(server, service, channel):
    _invites(server, service, "party").create(identity="stranger")
    assert count_rows(server, users, service_sid=service.sid) == 0
    assert count_rows(server, invites, channel_sid=channel) == 1


def test_invite_with_a_channel_role(server, service, channel):
    invite = _invites(server, service, channel).create(
        identity="boss", role_sid=service.default_channel_creator_role_sid
    )
    assert invite.role_sid == service.default_channel_creator_role_sid


@pytest.mark.parametrize("kind", ["deployment", "missing", "malformed", "other service"])
def test_role_must_be_a_channel_role_of_the_service(server, service, channel, kind):
    if kind == "other service":
        other = server.twilio_client().chat.v2.services.create(friendly_name="other")
        role_sid = other.default_channel_role_sid
    else:
        role_sid = {
            "deployment": service.default_service_role_sid,
            "missing": "RL" + "0" * 32,
            "malformed": "role",
        }[kind]
    invites_ = _invites(server, service, channel)
    assert _error(lambda: invites_.create(identity="x", role_sid=role_sid)) == (400, 20001)
    assert count_rows(server, invites, channel_sid=channel) == 0


def test_an_identity_is_invited_once(server, service, channel):
    invites_ = _invites(server, service, channel)
    invites_.create(identity="bob")
    assert _error(lambda: invites_.create(identity="bob")) == (409, 50212)
    assert count_rows(server, invites, channel_sid=channel) == 1
    other = make_channel(server, service.sid)
    assert _invites(server, service, other).create(identity="bob").channel_sid == other


def test_a_member_cannot_be_invited(server, service, channel):
    channel_api = server.twilio_client().chat.v2.services(service.sid).channels(channel)
    channel_api.members.create(identity="carol")
    assert _error(lambda: channel_api.invites.create(identity="carol")) == (409, 50404)
    assert channel_api.invites.list() == []


def test_adding_a_member_consumes_its_invite(server, service, channel):
    channel_api = server.twilio_client().chat.v2.services(service.sid).channels(channel)
    channel_api.invites.create(identity="guest")
    channel_api.invites.create(identity="other")
    channel_api.members.create(identity="guest")
    assert [i.identity for i in channel_api.invites.list()] == ["other"]
    assert count_rows(server, invites, channel_sid=channel) == 1


def test_list_through_several_pages_and_by_identity(server, service, channel):
    invites_ = _invites(server, service, channel)
    created = [invites_.create(identity=f"i{i}").sid for i in range(7)]
    assert [i.sid for i in invites_.list(page_size=3)] == created
    assert [i.sid for i in invites_.list(page_size=2, limit=3)] == created[:3]
    assert [i.identity for i in invites_.list(identity=["i6", "i0"])] == ["i0", "i6"]
    assert invites_.list(identity=["nobody"]) == []
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Invites"
        body = http.get(url, params={"PageSize": 4}).json()
        assert body["meta"]["key"] == "invites"
        assert len(body["invites"]) == 4
        following = http.get(body["meta"]["next_page_url"]).json()
    assert [i["sid"] for i in following["invites"]] == created[4:]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"Identity": ""},
        {"Identity": "i" * 257},
        {"Identity": "a\x00b"},
        {"Identity": "ok", "RoleSid": ""},
    ],
)
def test_create_rejects_bad_input_and_changes_nothing(server, service, channel, data):
    with server.http() as http:
        response = http.post(f"/v2/Services/{service.sid}/Channels/{channel}/Invites", data=data)
    assert (response.status_code, response.json()["code"]) == (400, 20001)
    assert count_rows(server, invites, channel_sid=channel) == 0


@pytest.mark.parametrize("params", [[("Identity", "")], [("Identity", "z" * 257)]])
def test_list_rejects_bad_identity_filters(server, service, channel, params):
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Invites"
        response = http.get(url, params=params)
    assert (response.status_code, response.json()["code"]) == (400, 20001)


@pytest.mark.parametrize("key", [MISSING_INVITE, "INbad", "%00", "alice"])
def test_missing_or_malformed_invite_sids_answer_50601(server, service, channel, key):
    _invites(server, service, channel).create(identity="alice")
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Invites/{key}"
        for method in ("GET", "DELETE"):
            response = http.request(method, url)
            assert (response.status_code, response.json()["code"]) == (404, 50601)
    assert count_rows(server, invites, channel_sid=channel) == 1


def test_invites_have_no_update(server, service, channel):
    invite = _invites(server, service, channel).create(identity="fixed")
    with server.http() as http:
        response = http.post(invite.url, data={"Identity": "changed"})
    assert (response.status_code, response.json()["code"]) == (405, 20004)


def test_another_accounts_invites_answer_like_missing_ones(server, service, channel):
    invite = _invites(server, service, channel).create(identity="vip")
    other = server.new_tenant()
    theirs = other.twilio_client().chat.v2.services(service.sid).channels(channel).invites
    assert _error(lambda: theirs.create(identity="crasher")) == (404, 20404)
    assert _error(theirs(invite.sid).fetch) == (404, 20404)
    assert _error(theirs(invite.sid).delete) == (404, 20404)
    with other.http() as http:
        foreign = http.get(invite.url)
        missing = http.get(invite.url.replace(service.sid, "IS" + "0" * 32))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"]
    their_service = other.twilio_client().chat.v2.services.create(friendly_name="theirs")
    via_theirs = other.twilio_client().chat.v2.services(their_service.sid).channels(channel)
    assert _error(lambda: via_theirs.invites.create(identity="crasher")) == (404, 50300)
    assert [i.identity for i in _invites(server, service, channel).list()] == ["vip"]
