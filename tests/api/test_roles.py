"""Roles of a service through the official twilio client."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException


@pytest.fixture
def service(server):
    return server.twilio_client().chat.v2.services.create(friendly_name="roles")


def test_default_roles_are_listed(server, service):
    roles = server.twilio_client().chat.v2.services(service.sid).roles.list()
    assert [r.friendly_name for r in roles] == [
        "service admin",
        "service user",
        "channel admin",
        "channel user",
    ]
    assert all(r.account_sid == server.account_sid for r in roles)


def test_create_fetch_update_delete_role(server, service):
    roles = server.twilio_client().chat.v2.services(service.sid).roles
    role = roles.create(
        friendly_name="moderator", type="channel", permission=["sendMessage", "removeMember"]
    )
    assert role.sid.startswith("RL")
    assert role.type == "channel"
    assert role.permissions == ["sendMessage", "removeMember"]
    assert role.url == f"{server.url}/v2/Services/{service.sid}/Roles/{role.sid}"
    assert roles(role.sid).fetch().friendly_name == "moderator"
    updated = roles(role.sid).update(permission=["sendMessage"])
    assert updated.permissions == ["sendMessage"]
    assert roles(role.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        roles(role.sid).fetch()
    assert caught.value.status == 404


@pytest.mark.parametrize(
    "data",
    [
        {"FriendlyName": "x", "Type": "channel", "Permission": "flyToTheMoon"},
        {"FriendlyName": "x", "Type": "deployment", "Permission": "sendMessage"},
        {"FriendlyName": "x", "Type": "galaxy", "Permission": "sendMessage"},
        {"FriendlyName": "x", "Type": "channel"},
        {"Type": "channel", "Permission": "sendMessage"},
        {"FriendlyName": "", "Type": "channel", "Permission": "sendMessage"},
    ],
)
def test_create_role_rejects_bad_input(server, service, data):
    with server.http() as http:
        response = http.post(f"/v2/Services/{service.sid}/Roles", data=data)
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        assert len(http.get(f"/v2/Services/{service.sid}/Roles").json()["roles"]) == 4


def test_role_names_are_unique_per_service(server, service):
    roles = server.twilio_client().chat.v2.services(service.sid).roles
    with pytest.raises(TwilioRestException) as caught:
        roles.create(friendly_name="channel user", type="channel", permission=["sendMessage"])
    assert caught.value.status == 409


def test_default_roles_in_use_cannot_be_deleted(server, service):
    roles = server.twilio_client().chat.v2.services(service.sid).roles
    with pytest.raises(TwilioRestException) as caught:
        roles(service.default_service_role_sid).delete()
    assert caught.value.status == 409
    assert roles(service.default_service_role_sid).fetch().friendly_name == "service user"


def test_roles_of_another_accounts_service_answer_404(server, service):
    theirs = server.new_tenant().twilio_client()
    with pytest.raises(TwilioException, match="404"):
        theirs.chat.v2.services(service.sid).roles.list()
    with pytest.raises(TwilioRestException) as caught:
        theirs.chat.v2.services(service.sid).roles(service.default_channel_role_sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
