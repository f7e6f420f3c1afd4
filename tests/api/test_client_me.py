"""``GET /client/v1/me``: tokens minted by twilio-python, verified against the database."""

from __future__ import annotations

import time

import httpx
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant


def mint(server, service_sid, identity="alice", *, key_sid=None, secret=None, **kwargs):
    token = AccessToken(
        server.account_sid,
        key_sid or server.key_sid,
        secret or server.key_secret,
        identity=identity,
        **kwargs,
    )
    token.add_grant(ChatGrant(service_sid=service_sid))
    return token.to_jwt()


def me(server, token):
    headers = {} if token is None else {"X-Twilio-Token": token}
    return httpx.get(f"{server.url}/client/v1/me", headers=headers)


def test_me_accepts_a_twilio_python_token_and_creates_the_user_once(server):
    client = server.twilio_client()
    service = client.chat.v2.services.create(friendly_name="me")
    first = me(server, mint(server, service.sid, ttl=600))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["identity"] == "alice"
    assert body["service_sid"] == service.sid
    assert body["account_sid"] == server.account_sid
    assert body["user_sid"].startswith("US")
    assert body["expires_at"].endswith("Z")
    again = me(server, mint(server, service.sid)).json()
    assert again["user_sid"] == body["user_sid"]
    other = me(server, mint(server, service.sid, identity="Alice")).json()
    assert other["user_sid"] != body["user_sid"]  # identities are case-sensitive


def test_deleting_the_key_makes_its_tokens_fail_at_once(server):
    client = server.twilio_client()
    service = client.chat.v2.services.create(friendly_name="revoke")
    key = client.new_keys.create(friendly_name="short-lived")
    token = mint(server, service.sid, key_sid=key.sid, secret=key.secret)
    assert me(server, token).status_code == 200
    client.keys(key.sid).delete()
    response = me(server, token)
    assert response.status_code == 401
    assert response.json()["code"] == 20103


def test_me_answers_each_bad_token_with_its_code(server):
    service = server.twilio_client().chat.v2.services.create(friendly_name="bad")
    foreign = server.new_tenant().twilio_client().chat.v2.services.create(friendly_name="x")
    now = int(time.time())
    cases = {
        "not a token": 20101,
        mint(server, service.sid, secret="s" * 32): 20107,
        mint(server, service.sid, key_sid="SK" + "0" * 32): 20103,
        mint(server, service.sid, nbf=now - 7200, valid_until=now - 3600): 20104,
        mint(server, foreign.sid): 20106,
        mint(server, "IS" + "0" * 32): 20106,
    }
    for token, code in cases.items():
        response = me(server, token)
        assert response.status_code == 401, token
        body = response.json()
        assert body["code"] == code, (token, body)
        assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    missing = me(server, None)
    assert (missing.status_code, missing.json()["code"]) == (401, 20003)
