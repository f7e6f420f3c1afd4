"""Live sessions over a real socket: authentication, the token lifecycle, hostile frames."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import ChatService, authenticate, closed_with, receive, request, send


def test_ready_names_the_identity_user_service_and_token_expiry(live: ChatService) -> None:
    async def scenario() -> None:
        ws, ready = await authenticate(live)
        async with ws:
            assert ready["identity"] == "alice"
            assert ready["user"]["sid"].startswith("US")
            assert ready["user"]["identity"] == "alice"
            assert ready["service"]["sid"] == live.service_sid
            assert abs(ready["server_time"] - time.time()) < 5
            assert 3590 < ready["token_expires_at"] - ready["server_time"] <= 3600
            reply = await request(ws, "ping")
            assert reply["ok"] is True and "server_time" in reply["result"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("make_token", "close_code", "twilio_code"),
    [
        pytest.param(lambda live: live.token(secret="x" * 40), 4207, 20107, id="wrong-secret"),
        pytest.param(lambda live: "not.a.token", 4201, 20101, id="malformed"),
        pytest.param(
            lambda live: live.token(key_sid="SK" + "0" * 32), 4203, 20103, id="unknown-key"
        ),
        pytest.param(
            lambda live: live.token(
                nbf=int(time.time()) - 7200, valid_until=int(time.time()) - 600
            ),
            4104,
            20104,
            id="expired",
        ),
        pytest.param(
            lambda live: live.token(service_sid="IS" + "0" * 32), 4206, 20106, id="foreign-service"
        ),
    ],
)
def test_a_refused_token_closes_with_its_documented_code(
    live: ChatService, make_token: Any, close_code: int, twilio_code: int
) -> None:
    async def scenario() -> None:
        async with connect(live.ws_url) as ws:
            await send(ws, {"cmd": "authenticate", "args": {"token": make_token(live)}})
            code, reason = await closed_with(ws)
            assert code == close_code
            assert reason["code"] == twilio_code

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[1, 2]", id="json-array"),
        pytest.param(json.dumps({"id": 1, "cmd": "ping"}), id="command-before-authenticate"),
        pytest.param(json.dumps({"cmd": "authenticate", "args": {"token": 5}}), id="token-not-str"),
        pytest.param(b"\x00\x01", id="binary"),
        pytest.param("x" * (65 * 1024), id="oversized"),
        pytest.param('{"cmd": "authenticate", "args": {"token": "a", "n": NaN}}', id="nan"),
    ],
)
def test_a_hostile_first_frame_closes_with_a_protocol_error(live: ChatService, frame: Any) -> None:
    async def scenario() -> None:
        async with connect(live.ws_url, max_size=None) as ws:
            await ws.send(frame)
            code, _ = await closed_with(ws)
            assert code == 4212

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("frame", "error_code"),
    [
        pytest.param({"id": 2, "cmd": "noSuchCommand"}, 20001, id="unknown-command"),
        pytest.param({"id": 3, "cmd": "updateToken", "args": {"token": 7}}, 20001, id="wrong-type"),
        pytest.param(
            {"id": 4, "cmd": "updateToken", "args": {"token": "a.b.c"}}, 20101, id="bad-token"
        ),
    ],
)
def test_a_bad_request_after_authentication_gets_an_error_reply_and_the_session_lives(
    live: ChatService, frame: dict[str, Any], error_code: int
) -> None:
    async def scenario() -> None:
        ws, _ = await authenticate(live)
        async with ws:
            await send(ws, frame)
            reply = await receive(ws)
            assert reply["id"] == frame["id"] and reply["ok"] is False
            assert reply["error"]["code"] == error_code
            assert (await request(ws, "ping", request_id=99))["ok"] is True

    asyncio.run(scenario())


def test_a_flood_is_refused_with_20429_and_then_closed_while_others_carry_on(
    live: ChatService,
) -> None:
    async def scenario() -> None:
        calm, _ = await authenticate(live, live.token("calm"))
        flood, _ = await authenticate(live, live.token("flood"))
        async with calm, flood:
            for n in range(1, 1001):
                await send(flood, {"id": n, "cmd": "ping"})
            codes = []
            try:
                while True:
                    frame = await receive(flood)
                    if not frame.get("ok"):
                        codes.append(frame["error"]["code"])
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4029
            assert codes and set(codes) == {20429}
            assert (await request(calm, "ping"))["ok"] is True

    asyncio.run(scenario())


def test_short_token_warns_at_half_its_lifetime_then_expires_and_closes_with_renew(
    live: ChatService,
) -> None:
    async def scenario() -> None:
        ws, ready = await authenticate(live, live.token(ttl=4))
        async with ws:
            # Due 2 s before exp: at half the 4 s lifetime, which runs from the token's iat
            # (whole seconds), so up to a second before "2 s after authenticating".
            due = ready["token_expires_at"] - 2
            warning = await receive(ws, timeout=6)
            assert warning["event"] == "tokenAboutToExpire"
            assert due - 0.1 <= time.time() <= due + 1.9  # slack for load
            assert warning["data"]["expires_in"] in (1, 2, 3)
            expired = await receive(ws, timeout=6)
            assert expired["event"] == "tokenExpired"
            assert expired["data"]["expires_at"] == ready["token_expires_at"]
            code, reason = await closed_with(ws)
            assert (code, reason["code"]) == (4104, 20104)

    asyncio.run(scenario())


def test_update_token_keeps_the_session_alive_across_several_renewals(live: ChatService) -> None:
    async def scenario() -> None:
        ws, ready = await authenticate(live, live.token(ttl=4))
        async with ws:
            expires_at = ready["token_expires_at"]
            for n in range(2, 6):
                event = await receive(ws, timeout=6)
                assert event["event"] == "tokenAboutToExpire"
                reply = await request(ws, "updateToken", n, token=live.token(ttl=4))
                assert reply["ok"] is True
                assert reply["result"]["token_expires_at"] >= expires_at
                expires_at = reply["result"]["token_expires_at"]
            assert (await request(ws, "ping", 50))["ok"] is True

    asyncio.run(scenario())


def test_update_token_refuses_another_identity_and_keeps_the_old_token(live: ChatService) -> None:
    async def scenario() -> None:
        ws, _ = await authenticate(live)
        async with ws:
            reply = await request(ws, "updateToken", token=live.token("mallory"))
            assert reply["ok"] is False and reply["error"]["code"] == 20106
            assert (await request(ws, "ping", 2))["ok"] is True

    asyncio.run(scenario())


def test_deleting_the_signing_key_closes_its_sessions_within_a_second(live: ChatService) -> None:
    key = live.rest.new_keys.create(friendly_name="doomed")

    async def scenario() -> None:
        ws, _ = await authenticate(live, live.token(key_sid=key.sid, secret=key.secret))
        async with ws:
            await asyncio.to_thread(live.rest.keys(key.sid).delete)
            started = time.monotonic()
            code, reason = await closed_with(ws, timeout=3)
            assert time.monotonic() - started < 1.0
            assert (code, reason["code"]) == (4203, 20103)

    asyncio.run(scenario())


def test_a_socket_that_never_authenticates_is_closed_with_4008(
    live: ChatService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backchannel.realtime import session

    monkeypatch.setattr(session, "AUTH_TIMEOUT", 0.5)  # the server runs in this process

    async def scenario() -> None:
        async with connect(live.ws_url) as ws:
            started = time.monotonic()
            code, _ = await closed_with(ws)
            assert code == 4008
            assert 0.4 < time.monotonic() - started < 3

    asyncio.run(scenario())
