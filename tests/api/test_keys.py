"""The Keys API (2010) through the official twilio client."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


def test_create_list_fetch_update_delete_keys(server):
    client = server.twilio_client()
    created = client.new_keys.create(friendly_name="deploy")
    assert created.sid.startswith("SK")
    assert len(created.secret) == 32
    assert created.friendly_name == "deploy"
    assert created.date_created is not None

    fetched = client.keys(created.sid).fetch()
    assert (fetched.sid, fetched.friendly_name) == (created.sid, "deploy")
    assert not hasattr(fetched, "secret") or getattr(fetched, "secret", None) is None

    listed = [key.sid for key in client.keys.list()]
    assert listed == [server.key_sid, created.sid]

    renamed = client.keys(created.sid).update(friendly_name="renamed")
    assert renamed.friendly_name == "renamed"

    # The new key authenticates REST calls as the same account.
    as_key = Client(created.sid, created.secret, server.account_sid)
    as_key.chat.base_url = server.url
    assert as_key.chat.v2.services.list() == []

    assert client.keys(created.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        client.keys(created.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        as_key.chat.v2.services.create(friendly_name="after revoke")
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_key_list_pages(server):
    client = server.twilio_client()
    sids = [server.key_sid] + [client.new_keys.create(friendly_name=f"k{i}").sid for i in range(4)]
    assert [key.sid for key in client.keys.list(page_size=2)] == sids
    with server.http() as http:
        body = http.get(f"/2010-04-01/Accounts/{server.account_sid}/Keys.json?PageSize=2").json()
    assert [key["sid"] for key in body["keys"]] == sids[:2]
    assert body["next_page_uri"].startswith(f"/2010-04-01/Accounts/{server.account_sid}/Keys.json?")
    assert "secret" not in body["keys"][0]


def test_keys_of_another_account_answer_404(server):
    other = server.new_tenant()
    theirs = other.twilio_client()
    with pytest.raises(TwilioRestException) as caught:
        theirs.api.v2010.accounts(server.account_sid).keys(server.key_sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        theirs.keys(server.key_sid).delete()
    assert caught.value.status == 404
    with other.http() as http:
        response = http.get(f"/2010-04-01/Accounts/{server.account_sid}/Keys.json")
        assert response.status_code == 404
    assert server.twilio_client().keys(server.key_sid).fetch().sid == server.key_sid


def test_key_friendly_name_too_long_is_rejected(server):
    with server.http() as http:
        path = f"/2010-04-01/Accounts/{server.account_sid}/Keys.json"
        response = http.post(path, data={"FriendlyName": "x" * 65})
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        assert len(http.get(path).json()["keys"]) == 1
