"""``backchannel users …``, ``serve --env-file`` and ``backchannel tokenserver``, as users run
them: subprocesses (and click's runner for the password prompt)."""

from __future__ import annotations

import re

import httpx
import pytest
from click.testing import CliRunner

from backchannel.cli import main
from backchannel.tokens import SigningKey, TokenVerifier
from processes import (  # tests/processes.py
    backchannel,
    clean_environment,
    parse_env,
    start_serving,
    stop_serving,
)

PASSWORD = "a long enough password"


@pytest.fixture
def env(tmp_path):
    return clean_environment(tmp_path)


def run_cli(env, *args, stdin=None):
    """``backchannel <args>`` in process (click's runner): faster than a subprocess."""
    return CliRunner(env=env).invoke(main, list(args), input=stdin)


def one_line_error(result, status=1):
    code = getattr(result, "returncode", getattr(result, "exit_code", None))
    assert code == status, (result, result.stderr)
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    return result.stderr


def test_users_add_list_api_token_remove(env):
    assert backchannel(env, "users", "add", "alice", "--password-stdin",
                       stdin=PASSWORD + "\n").stdout == "added alice\n"
    backchannel(env, "users", "add", "bob@example.com", "--password-stdin", stdin=PASSWORD)

    token = backchannel(env, "users", "api-token", "alice", "--ttl-days", "7")
    assert re.fullmatch(r"bcat_[A-Za-z0-9_-]{43}\n", token.stdout)
    assert "expires" in token.stderr and token.stdout.strip() not in token.stderr

    listed = backchannel(env, "users", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["alice", "bob@example.com"]
    assert listed[0].endswith("1 API token") and listed[1].endswith("0 API tokens")

    removed = backchannel(env, "users", "remove", "bob@example.com")
    assert removed.stdout == "removed bob@example.com\n"
    assert [line.split()[0] for line in backchannel(env, "users", "list").stdout.splitlines()] == [
        "alice"
    ]


@pytest.mark.parametrize(
    ("args", "stdin", "status", "message"),
    [
        (["users", "add", "alice", "--password-stdin"], PASSWORD, 1, "already exists"),
        (["users", "add", "carol", "--password-stdin"], "short", 1, "at least 8 characters"),
        (["users", "add", " carol", "--password-stdin"], PASSWORD, 2, "spaces"),
        (["users", "add", "car\x01ol", "--password-stdin"], PASSWORD, 2, "control characters"),
        (["users", "remove", "nobody"], None, 1, "no user 'nobody'"),
        (["users", "api-token", "nobody"], None, 1, "no user 'nobody'"),
        (["users", "api-token", "alice", "--ttl-days", "0"], None, 1, "1 to 3650 days"),
    ],
)
def test_users_errors_are_one_line(env, args, stdin, status, message):
    assert run_cli(env, "users", "add", "alice", "--password-stdin", stdin=PASSWORD).exit_code == 0
    assert message in one_line_error(run_cli(env, *args, stdin=stdin), status)


def test_users_add_prompts_for_the_password_twice(env):
    mismatch = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"
    result = run_cli(env, "users", "add", "alice", stdin=mismatch)
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert result.output.count("Repeat for confirmation") == 2  # asked again after it
    assert PASSWORD not in result.output
    assert "added alice" in result.output


def test_serve_mints_with_the_credentials_init_wrote(env, tmp_path):
    env_file = tmp_path / "chat.env"
    values = parse_env(backchannel(env, "init", "--env-file", str(env_file)).stdout)
    backchannel(env, "users", "add", "alice", "--password-stdin", stdin=PASSWORD)
    api_token = backchannel(env, "users", "api-token", "alice").stdout.strip()
    process, url = start_serving(env, "serve", "--env-file", str(env_file))
    try:
        minted = httpx.post(f"{url}/auth/token", headers={"Authorization": f"Bearer {api_token}"})
        assert minted.status_code == 200, minted.text
        token = minted.json()["token"]
        me = httpx.get(f"{url}/client/v1/me", headers={"X-Twilio-Token": token})
        assert me.status_code == 200, me.text
        assert me.json()["identity"] == "alice"
        assert me.json()["service_sid"] == values["TWILIO_CHAT_SERVICE_SID"]
    finally:
        stop_serving(process)
    assert process.returncode == 0


def test_the_token_server_runs_alone(env, tmp_path):
    values = parse_env(backchannel(env, "init").stdout)
    backchannel(env, "users", "add", "alice", "--password-stdin", stdin=PASSWORD)
    process, url = start_serving({**env, **values}, "tokenserver")
    try:
        with httpx.Client(base_url=url) as client:
            login = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
            assert login.status_code == 200, login.text
            minted = client.post(
                "/auth/token", headers={"X-CSRF-Token": login.json()["csrf_token"]}
            )
            assert minted.status_code == 200, minted.text
        verifier = TokenVerifier(
            {values["TWILIO_API_KEY"]: SigningKey(values["TWILIO_API_SECRET"],
                                                  values["TWILIO_ACCOUNT_SID"])}
        )
        assert verifier.verify(minted.json()["token"]).identity == "alice"
    finally:
        stop_serving(process)


def test_serve_refuses_half_given_credentials_in_one_line(env):
    backchannel(env, "init")
    result = backchannel(
        {**env, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32}, "serve", "--port", "1", check=False
    )
    assert "TWILIO_API_KEY is not set" in one_line_error(result)
