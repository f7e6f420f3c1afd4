"""Services through the official twilio client against a real server."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from backchannel.chat.permissions import DEFAULT_ROLES

MISSING_SERVICE = "IS" + "0" * 32


def test_create_fetch_update_delete_service(server):
    client = server.twilio_client()
    service = client.chat.v2.services.create(friendly_name="support")
    assert service.sid.startswith("IS")
    assert service.account_sid == server.account_sid
    assert service.friendly_name == "support"
    assert service.url == f"{server.url}/v2/Services/{service.sid}"
    assert service.links["roles"] == f"{server.url}/v2/Services/{service.sid}/Roles"
    assert service.read_status_enabled is True
    assert service.reachability_enabled is False
    assert service.limits == {"channel_members": 250, "user_channels": 100}
    assert service.webhook_method == "POST"

    fetched = client.chat.v2.services(service.sid).fetch()
    assert fetched.sid == service.sid
    assert fetched.date_created == service.date_created

    updated = client.chat.v2.services(service.sid).update(
        friendly_name="help desk",
        reachability_enabled=True,
        typing_indicator_timeout=9,
        notifications_new_message_enabled=True,
        notifications_new_message_template="${USER}: ${MESSAGE}",
        limits_channel_members=500,
        webhook_filters=["onMessageSent", "onChannelAdded"],
        pre_webhook_url="https://hooks.example.com/pre",
        webhook_method="GET",
        media_compatibility_message="update your app",
    )
    assert updated.friendly_name == "help desk"
    assert updated.reachability_enabled is True
    assert updated.typing_indicator_timeout == 9
    assert updated.notifications["new_message"] == {
        "enabled": True,
        "template": "${USER}: ${MESSAGE}",
    }
    assert updated.limits == {"channel_members": 500, "user_channels": 100}
    assert updated.webhook_filters == ["onMessageSent", "onChannelAdded"]
    assert updated.pre_webhook_url == "https://hooks.example.com/pre"
    assert updated.webhook_method == "GET"
    assert updated.media["compatibility_message"] == "update your app"
    assert client.chat.v2.services(service.sid).fetch().limits["channel_members"] == 500

    assert client.chat.v2.services(service.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        client.chat.v2.services(service.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_new_service_has_the_four_default_roles(server):
    client = server.twilio_client()
    service = client.chat.v2.services.create(friendly_name="roles")
    with server.http() as http:
        found = http.get(f"/v2/Services/{service.sid}/Roles").json()["roles"]
    by_name = {role["friendly_name"]: role for role in found}
    assert set(by_name) == {role.friendly_name for role in DEFAULT_ROLES}
    for default in DEFAULT_ROLES:
        assert by_name[default.friendly_name]["type"] == default.type
        assert sorted(by_name[default.friendly_name]["permissions"]) == sorted(
            default.permissions
        )
    assert service.default_service_role_sid == by_name["service user"]["sid"]
    assert service.default_channel_role_sid == by_name["channel user"]["sid"]
    assert service.default_channel_creator_role_sid == by_name["channel admin"]["sid"]


def test_list_services_through_several_pages(server):
    client = server.twilio_client(use_key=True)
    created = [client.chat.v2.services.create(friendly_name=f"s{i}").sid for i in range(7)]
    assert [s.sid for s in client.chat.v2.services.list(page_size=3)] == created
    assert [s.sid for s in client.chat.v2.services.list(limit=5, page_size=2)] == created[:5]

    first = client.chat.v2.services.page(page_size=3)
    assert [s.sid for s in first] == created[:3]
    second = first.next_page()
    assert [s.sid for s in second] == created[3:6]
    assert [s.sid for s in second.previous_page()] == created[:3]
    third = second.next_page()
    assert [s.sid for s in third] == created[6:]
    assert third.next_page() is None


def test_list_meta_urls_are_absolute_and_followable(server):
    client = server.twilio_client()
    for i in range(3):
        client.chat.v2.services.create(friendly_name=f"m{i}")
    with server.http() as http:
        body = http.get("/v2/Services", params={"PageSize": 2}).json()
        meta = body["meta"]
        assert meta["key"] == "services"
        assert meta["page"] == 0 and meta["page_size"] == 2
        assert meta["previous_page_url"] is None
        assert meta["first_page_url"] == f"{server.url}/v2/Services?PageSize=2&Page=0"
        assert meta["next_page_url"].startswith(f"{server.url}/v2/Services?")
        following = http.get(meta["next_page_url"]).json()
    assert following["meta"]["page"] == 1
    assert len(following["services"]) == 1
    assert following["meta"]["next_page_url"] is None


@pytest.mark.parametrize(
    ("params", "message_part"),
    [
        ({"PageSize": "0"}, "PageSize"),
        ({"PageSize": "1001"}, "PageSize"),
        ({"PageSize": "ten"}, "PageSize"),
        ({"PageToken": "nonsense"}, "PageToken"),
        ({"Page": "-1"}, "Page"),
    ],
)
def test_list_rejects_bad_paging(server, params, message_part):
    with server.http() as http:
        response = http.get("/v2/Services", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 20001
    assert message_part in body["message"]
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20001"


@pytest.mark.parametrize(
    "data",
    [
        {"ReadStatusEnabled": "maybe"},
        {"TypingIndicatorTimeout": "soon"},
        {"Limits.ChannelMembers": "0"},
        {"Limits.UserChannels": "1001"},
        {"PreWebhookUrl": "ftp://example.com/"},
        {"WebhookMethod": "PUT"},
        {"PostWebhookRetryCount": "4"},
        {"DefaultServiceRoleSid": "RL" + "0" * 32},
        {"DefaultServiceRoleSid": "not a sid"},
        {"FriendlyName": "x" * 257},
        {"FriendlyName": "ok", "Limits.ChannelMembers": "-5"},
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(server, data):
    client = server.twilio_client()
    service = client.chat.v2.services.create(friendly_name="steady")
    with server.http() as http:
        response = http.post(f"/v2/Services/{service.sid}", data=data)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 20001
        after = http.get(f"/v2/Services/{service.sid}").json()
    assert after["friendly_name"] == "steady"
    assert after["limits"] == service.limits
    assert after["read_status_enabled"] is True
    assert after["date_updated"] == after["date_created"]


def test_default_role_sid_must_be_a_role_of_the_right_type(server):
    client = server.twilio_client()
    service = client.chat.v2.services.create(friendly_name="types")
    with pytest.raises(TwilioRestException) as caught:
        client.chat.v2.services(service.sid).update(
            default_service_role_sid=service.default_channel_role_sid
        )
    assert (caught.value.status, caught.value.code) == (400, 20001)
    swapped = client.chat.v2.services(service.sid).update(
        default_channel_role_sid=service.default_channel_creator_role_sid
    )
    assert swapped.default_channel_role_sid == service.default_channel_creator_role_sid


def test_create_requires_friendly_name(server):
    with server.http() as http:
        response = http.post("/v2/Services", data={})
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        assert http.get("/v2/Services").json()["services"] == []


def test_missing_and_malformed_service_sids_answer_404(server):
    client = server.twilio_client()
    for sid in (MISSING_SERVICE, "ISnot-a-sid"):
        with pytest.raises(TwilioRestException) as caught:
            client.chat.v2.services(sid).fetch()
        assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        client.chat.v2.services(MISSING_SERVICE).delete()
    assert caught.value.status == 404


def test_wrong_credentials_answer_401(server):
    from twilio.rest import Client

    for username, password in [
        (server.account_sid, "0" * 32),
        (server.key_sid, "wrong"),
        ("AC" + "1" * 32, server.auth_token),
        ("someone", "something"),
    ]:
        client = Client(username, password, server.account_sid)
        client.chat.base_url = server.url
        with pytest.raises(TwilioRestException) as caught:
            client.chat.v2.services.create(friendly_name="intruder")
        assert (caught.value.status, caught.value.code) == (401, 20003)
    assert server.twilio_client().chat.v2.services.list() == []


def test_requests_without_or_with_malformed_credentials_answer_401(server):
    import httpx

    for headers in [{}, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"}]:
        response = httpx.get(f"{server.url}/v2/Services", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == 20003


def test_another_accounts_service_answers_like_a_missing_one(server):
    mine = server.twilio_client().chat.v2.services.create(friendly_name="mine")
    other = server.new_tenant()
    theirs = other.twilio_client()
    assert theirs.chat.v2.services.list() == []
    with other.http() as http:
        foreign = http.get(f"/v2/Services/{mine.sid}")
        missing = http.get(f"/v2/Services/{MISSING_SERVICE}")
        assert http.post(f"/v2/Services/{mine.sid}", data={"FriendlyName": "x"}).status_code == 404
        assert http.delete(f"/v2/Services/{mine.sid}").status_code == 404
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == 20404
    assert foreign.json()["message"].replace(mine.sid, "X") == missing.json()["message"].replace(
        MISSING_SERVICE, "X"
    )
    assert server.twilio_client().chat.v2.services(mine.sid).fetch().friendly_name == "mine"


def test_unknown_path_and_method_answer_with_the_envelope(server):
    with server.http() as http:
        response = http.get("/v2/Nothing")
        assert (response.status_code, response.json()["code"]) == (404, 20404)
        response = http.put("/v2/Services")
        assert (response.status_code, response.json()["code"]) == (405, 20004)


def test_healthz(server):
    import httpx

    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
