"""``backchannel init | serve | accounts | keys | services`` as a user runs them: subprocesses."""

from __future__ import annotations

import json

import httpx
import pytest
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant
from twilio.rest import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from processes import (  # tests/processes.py
    backchannel,
    clean_environment,
    parse_env,
    start_serving,
    stop_serving,
)

NAMES = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWILIO_CHAT_SERVICE_SID",
)


@pytest.fixture
def env(tmp_path):
    return clean_environment(tmp_path)


def test_init_prints_and_writes_the_credentials_once(env, tmp_path):
    env_file = tmp_path / "chat.env"
    result = backchannel(env, "init", "--env-file", str(env_file))
    values = parse_env(result.stdout)
    assert tuple(values) == NAMES
    assert env_file.read_text() == result.stdout
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "backchannel.key").stat().st_mode & 0o777 == 0o600

    again = backchannel(env, "init", check=False)
    assert again.returncode == 1
    assert again.stderr.startswith("error: ") and len(again.stderr.splitlines()) == 1
    assert "Traceback" not in again.stderr


def guide_token(values, identity):
    """The access-token guide's snippet, verbatim apart from the identity."""
    token = AccessToken(
        values["TWILIO_ACCOUNT_SID"],
        values["TWILIO_API_KEY"],
        values["TWILIO_API_SECRET"],
        identity=identity,
    )
    token.add_grant(ChatGrant(service_sid=values["TWILIO_CHAT_SERVICE_SID"]))
    return token.to_jwt()


def test_serve_runs_the_guides_flow_and_stops_on_sigterm(env, tmp_path):
    values = parse_env(backchannel(env, "init").stdout)
    process, url = start_serving(env)
    try:

        client = Client(values["TWILIO_ACCOUNT_SID"], values["TWILIO_AUTH_TOKEN"])
        client.chat.base_url = url
        service = client.chat.v2.services(values["TWILIO_CHAT_SERVICE_SID"]).fetch()
        assert service.friendly_name == "Backchannel Chat"

        token = guide_token(values, "user@example.com")
        me = httpx.get(f"{url}/client/v1/me", headers={"X-Twilio-Token": token})
        assert me.status_code == 200, me.text
        assert me.json()["identity"] == "user@example.com"
    finally:
        stop_serving(process)
    assert process.returncode == 0


def test_sigterm_asks_live_sessions_to_reconnect_with_4000(env):
    values = parse_env(backchannel(env, "init").stdout)
    process, url = start_serving(env)
    with connect(url.replace("http://", "ws://") + "/client/v1/ws") as live:
        try:
            token = guide_token(values, "alice")
            live.send(json.dumps({"cmd": "authenticate", "args": {"token": token}}))
            assert json.loads(live.recv(timeout=10))["event"] == "ready"
        finally:
            stop_serving(process)
        with pytest.raises(ConnectionClosed) as closed:
            live.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    assert process.returncode == 0


def test_accounts_keys_and_services_commands(env, tmp_path):
    backchannel(env, "init")
    second = parse_env(backchannel(env, "accounts", "create", "--friendly-name", "two").stdout)
    assert tuple(second) == NAMES
    account = ["--account-sid", second["TWILIO_ACCOUNT_SID"]]

    key = parse_env(backchannel(env, "keys", "create", *account, "--friendly-name", "ci").stdout)
    listed = backchannel(env, "keys", "list", *account).stdout
    assert key["TWILIO_API_KEY"] in listed and second["TWILIO_API_KEY"] in listed
    assert key["TWILIO_API_SECRET"] not in listed
    backchannel(env, "keys", "revoke", *account, key["TWILIO_API_KEY"])
    assert key["TWILIO_API_KEY"] not in backchannel(env, "keys", "list", *account).stdout

    created = backchannel(env, "services", "create", *account, "--friendly-name", "x")
    made = parse_env(created.stdout)
    services = backchannel(env, "services", "list", *account).stdout.splitlines()
    assert [line.split()[0] for line in services] == [
        second["TWILIO_CHAT_SERVICE_SID"],
        made["TWILIO_CHAT_SERVICE_SID"],
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "list", "--account-sid", "AC" + "0" * 32],
        ["keys", "list", "--account-sid", "nonsense"],
        ["keys", "revoke", "--account-sid", "AC" + "0" * 32, "SK" + "0" * 32],
        ["services", "create", "--account-sid", "AC" + "0" * 32, "--friendly-name", ""],
    ],
)
def test_admin_errors_are_one_line(env, args):
    result = backchannel(env, *args, check=False)
    assert result.returncode in (1, 2)
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1


def test_bad_database_url_is_one_line(env):
    env["BACKCHANNEL_DATABASE_URL"] = "mysql://nope"
    result = backchannel(env, "init", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: unsupported database")
