"""``backchannel token chat`` and ``backchannel token inspect``, through click and as installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from click.testing import CliRunner, Result
from twilio.jwt.access_token import AccessToken as TwilioAccessToken
from twilio.jwt.access_token.grants import ChatGrant as TwilioChatGrant

import backchannel
from backchannel.cli import inspection, main
from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant

ACCOUNT = "AC" + "0123456789abcdef" * 2
KEY = "SK" + "fedcba9876543210" * 2
SERVICE = "IS" + "00112233445566778899aabbccddeeff"
SECRET = "s3cr3t-0f-the-api-key-" + "long-enough-for-any-hmac-" * 3
OTHER_SECRET = "another-secret-of-another-key-also-long-enough"

ENVIRONMENT = {
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_API_KEY": KEY,
    "TWILIO_API_SECRET": SECRET,
    "TWILIO_CHAT_SERVICE_SID": SERVICE,
}
ALL_VARIABLES = [
    *ENVIRONMENT,
    "BACKCHANNEL_TOKEN_IDENTITY",
    "BACKCHANNEL_TOKEN_TTL",
    "BACKCHANNEL_TOKEN_REGION",
    "BACKCHANNEL_TOKEN_ENDPOINT_ID",
    "BACKCHANNEL_TOKEN_JSON",
]
CREDENTIAL_FLAGS = ["--account-sid", ACCOUNT, "--api-key", KEY, "--api-secret", SECRET]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's own TWILIO_* variables must not leak into these tests.
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), env=env, input=stdin)
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def assert_one_line_error(result: Result, exit_code: int) -> str:
    assert result.exit_code == exit_code
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def mint(secret: str = SECRET, *, identity: str = "alice", **kwargs: Any) -> str:
    token = AccessToken(ACCOUNT, KEY, secret, identity=identity, **kwargs)
    token.add_grant(ChatGrant(service_sid=SERVICE))
    return token.to_jwt()


def forge(payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """A token signed with SECRET whose claims break one rule or another."""
    claims = {"jti": f"{KEY}-1", "iss": KEY, "sub": ACCOUNT, "grants": {"identity": "alice"}}
    claims.update(payload)
    headers = {"cty": "twilio-fpa;v=1", **(header or {})}
    return pyjwt.encode(claims, SECRET, algorithm=headers.pop("alg", "HS256"), headers=headers)


def check_lines(output: str) -> list[str]:
    return output.split("checks:\n", 1)[1].splitlines()[:-1]


# --- token chat ---------------------------------------------------------------------------


def test_chat_prints_one_line_that_twilio_python_and_pyjwt_decode() -> None:
    result = run(
        "token", "chat", "--identity", "alice", "--chat-service-sid", SERVICE,
        "--ttl", "600", *CREDENTIAL_FLAGS,
    )

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]

    twilio_payload = TwilioAccessToken.from_jwt(token, SECRET).payload
    assert twilio_payload["grants"] == {"identity": "alice", "chat": {"service_sid": SERVICE}}
    assert twilio_payload["iss"] == KEY
    assert twilio_payload["sub"] == ACCOUNT

    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["grants"]["identity"] == "alice"
    assert claims["grants"]["chat"]["service_sid"] == SERVICE
    assert claims["exp"] - claims["nbf"] == 600
    assert pyjwt.get_unverified_header(token)["cty"] == "twilio-fpa;v=1"


def test_chat_reads_the_guides_environment_variables() -> None:
    result = run("token", "chat", "--identity", "bob", env=ENVIRONMENT)

    assert result.exit_code == 0, result.stderr
    claims = pyjwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["sub"] == ACCOUNT
    assert claims["iss"] == KEY
    assert claims["grants"] == {"identity": "bob", "chat": {"service_sid": SERVICE}}
    assert claims["exp"] - claims["nbf"] == 3600


def test_chat_reads_every_flag_from_the_environment() -> None:
    env = {
        **ENVIRONMENT,
        "BACKCHANNEL_TOKEN_IDENTITY": "carol",
        "BACKCHANNEL_TOKEN_TTL": "120",
        "BACKCHANNEL_TOKEN_REGION": "ie1",
        "BACKCHANNEL_TOKEN_ENDPOINT_ID": "carol-phone",
    }
    result = run("token", "chat", env=env)

    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["grants"]["identity"] == "carol"
    assert claims["grants"]["chat"] == {"service_sid": SERVICE, "endpoint_id": "carol-phone"}
    assert claims["exp"] - claims["nbf"] == 120
    assert pyjwt.get_unverified_header(token)["twr"] == "ie1"


def test_flags_win_over_the_environment() -> None:
    other_service = "IS" + "f" * 32
    result = run("token", "chat", "--identity", "dan", "--chat-service-sid", other_service,
                 env=ENVIRONMENT)

    claims = pyjwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["grants"]["chat"]["service_sid"] == other_service


def test_chat_json_gives_token_identity_service_and_expiry() -> None:
    before = int(time.time())
    result = run("token", "chat", "--identity", "alice", "--ttl", "900", "--json", env=ENVIRONMENT)

    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"token", "identity", "service_sid", "expires_at", "expires_at_epoch", "ttl"}
    claims = pyjwt.decode(out["token"], SECRET, algorithms=["HS256"])
    assert out["identity"] == "alice"
    assert out["service_sid"] == SERVICE
    assert out["ttl"] == 900
    assert out["expires_at_epoch"] == claims["exp"]
    assert before + 900 <= out["expires_at_epoch"] <= int(time.time()) + 900
    assert out["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))


def test_chat_warns_on_one_stderr_line_about_reserved_characters_and_still_mints() -> None:
    result = run("token", "chat", "--identity", "user@example.com", env=ENVIRONMENT)

    assert result.exit_code == 0
    warning_lines = result.stderr.splitlines()
    assert len(warning_lines) == 1
    assert warning_lines[0].startswith("warning: ")
    assert "reserved" in warning_lines[0]
    claims = pyjwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["grants"]["identity"] == "user@example.com"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("TWILIO_API_SECRET", "TWILIO_API_SECRET"),
        ("TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"),
        ("TWILIO_API_KEY", "TWILIO_API_KEY"),
        ("TWILIO_CHAT_SERVICE_SID", "TWILIO_CHAT_SERVICE_SID"),
    ],
)
def test_chat_without_a_credential_says_which_in_one_line(missing: str, named: str) -> None:
    env = {name: value for name, value in ENVIRONMENT.items() if name != missing}
    line = assert_one_line_error(run("token", "chat", "--identity", "alice", env=env), 2)

    assert named in line
    assert run("token", "chat", "--identity", "alice", env=env).stdout == ""


def test_chat_without_identity_is_a_usage_error() -> None:
    line = assert_one_line_error(run("token", "chat", env=ENVIRONMENT), 2)
    assert "--identity" in line


@pytest.mark.parametrize(
    ("flag", "value", "code"),
    [
        ("--account-sid", "AC123", "20103"),
        ("--api-key", "AK" + "0" * 32, "20103"),
        ("--chat-service-sid", "CH" + "0" * 32, "20106"),
    ],
)
def test_chat_with_a_bad_sid_fails_in_one_line_with_its_code(
    flag: str, value: str, code: str
) -> None:
    line = assert_one_line_error(
        run("token", "chat", "--identity", "alice", flag, value, env=ENVIRONMENT), 1
    )
    assert code in line


def test_chat_refuses_a_ttl_over_24_hours() -> None:
    line = assert_one_line_error(
        run("token", "chat", "--identity", "alice", "--ttl", "86401", env=ENVIRONMENT), 1
    )
    assert "20157" in line


def test_chat_never_shows_the_secret_even_when_it_lands_in_the_wrong_flag() -> None:
    # A secret pasted where the Account SID goes is quoted back by the SID check: redacted.
    result = run("token", "chat", "--identity", "alice", "--account-sid", SECRET, env=ENVIRONMENT)

    line = assert_one_line_error(result, 1)
    assert "<secret>" in line


def test_unknown_option_is_a_one_line_usage_error() -> None:
    line = assert_one_line_error(run("token", "chat", "--colour", "blue", env=ENVIRONMENT), 2)
    assert "--colour" in line


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert backchannel.__version__ in result.stdout


# --- token inspect ------------------------------------------------------------------------


def test_inspect_a_valid_token_shows_header_claims_times_and_exits_0() -> None:
    result = run("token", "inspect", mint(ttl=3600), "--secret", SECRET)

    assert result.exit_code == 0, result.stdout
    assert '"cty": "twilio-fpa;v=1"' in result.stdout
    assert '"identity": "alice"' in result.stdout
    assert "expires in 1 h" in result.stdout
    checks = check_lines(result.stdout)
    assert len(checks) == 10
    assert all(line.startswith("ok    ") for line in checks)
    assert "ok    20101 well-formed JWT" in checks
    assert "ok    20102 header HS256/JWT/twilio-fpa;v=1" in checks
    assert result.stdout.splitlines()[-1].startswith("valid: ")


def test_inspect_says_it_trusts_the_tokens_own_subject() -> None:
    result = run("token", "inspect", mint(), "--secret", SECRET)
    assert f"ok    20103 subject {ACCOUNT} (taken on trust:" in result.stdout


def test_inspect_takes_the_secret_from_twilio_api_secret() -> None:
    result = run("token", "inspect", mint(), env={"TWILIO_API_SECRET": SECRET})
    assert result.exit_code == 0, result.stdout


def test_inspect_reads_the_token_from_stdin() -> None:
    result = run("token", "inspect", "-", "--secret", SECRET, stdin=mint() + "\n")
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exc_info)


def test_inspect_accepts_tokens_minted_by_twilio_python() -> None:
    token = TwilioAccessToken(ACCOUNT, KEY, SECRET, identity="alice", ttl=600)
    token.add_grant(TwilioChatGrant(service_sid=SERVICE))

    result = run("token", "inspect", token.to_jwt(), "--secret", SECRET)
    assert result.exit_code == 0, result.stdout
    assert "expires in 10 min" in result.stdout


def test_inspect_accepts_tokens_shaped_like_twilio_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    # twilio-node sets iat instead of nbf.
    now = int(time.time())
    token = forge({"iat": now - 60, "exp": now + 600, "grants": {"identity": "alice"}})
    monkeypatch.setattr(inspection, "clock", lambda: now)

    result = run("token", "inspect", token, "--secret", SECRET)
    assert result.exit_code == 0, result.stdout
    assert "issued 1 min ago (iat " in result.stdout
    assert "lifetime 11 min" in result.stdout


def test_inspect_times_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    now = int(time.time())
    token = mint(nbf=now - 360, valid_until=now + 3240)
    monkeypatch.setattr(inspection, "clock", lambda: now)

    result = run("token", "inspect", token, "--secret", SECRET)
    assert "issued 6 min ago" in result.stdout
    assert "expires in 54 min" in result.stdout
    assert "lifetime 1 h" in result.stdout


def test_inspect_an_expired_token_reports_20104_and_exits_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = int(time.time())
    token = mint(nbf=now - 4 * 3600, valid_until=now - 3 * 3600)
    monkeypatch.setattr(inspection, "clock", lambda: now)

    result = run("token", "inspect", token, "--secret", SECRET)

    assert result.exit_code == 1
    assert "expired 3 h ago" in result.stdout
    checks = check_lines(result.stdout)
    assert "FAIL  20104 expired 3 h ago" in checks
    assert checks[:6] == [line for line in checks[:6] if line.startswith("ok    ")]
    assert all(line.startswith("--    ") for line in checks[7:])
    assert "TokenExpiredError (20104)" in result.stdout.splitlines()[-1]


def test_inspect_a_token_not_valid_yet_reports_20105(monkeypatch: pytest.MonkeyPatch) -> None:
    now = int(time.time())
    token = mint(nbf=now + 600, valid_until=now + 3600)
    monkeypatch.setattr(inspection, "clock", lambda: now)

    result = run("token", "inspect", token, "--secret", SECRET)
    assert result.exit_code == 1
    assert "FAIL  20105 not valid for another 10 min" in result.stdout


def test_inspect_with_the_wrong_secret_reports_20107_and_exits_1() -> None:
    result = run("token", "inspect", mint(), "--secret", OTHER_SECRET)

    assert result.exit_code == 1
    checks = check_lines(result.stdout)
    assert checks[3] == "FAIL  20107 signature does not match the secret"
    assert checks[:3] == [line for line in checks[:3] if line.startswith("ok    ")]
    assert all(line.endswith("not reached") for line in checks[4:])


def test_inspect_a_tampered_token_reports_20107() -> None:
    header, payload, signature = mint().split(".")
    claims = json.loads(pyjwt.utils.base64url_decode(payload))
    claims["grants"]["identity"] = "mallory"
    forged = pyjwt.utils.base64url_encode(json.dumps(claims).encode()).decode()

    result = run("token", "inspect", f"{header}.{forged}.{signature}", "--secret", SECRET)
    assert result.exit_code == 1
    assert "FAIL  20107" in result.stdout


def test_inspect_without_a_secret_says_the_signature_could_not_be_checked() -> None:
    result = run("token", "inspect", mint())

    assert result.exit_code == 1
    assert "signature could not be checked" in result.stdout
    assert "skip  20107 signature not checked: no secret (--secret or TWILIO_API_SECRET)" in (
        result.stdout
    )
    # The token is still shown: header, claims and times.
    assert '"identity": "alice"' in result.stdout
    assert "expires in" in result.stdout


@pytest.mark.parametrize(
    "garbage",
    ["garbage", "", "a.b", "a.b.c", "e30.e30", "eyJ.eyJ.x", "tökén.with.ümlauts", "x" * 9000],
)
def test_inspect_garbage_reports_20101_without_a_traceback(garbage: str) -> None:
    for args in (["--secret", SECRET], []):
        result = run("token", "inspect", garbage, *args)
        assert result.exit_code == 1
        assert check_lines(result.stdout)[0].startswith("FAIL  20101 not a well-formed JWT")
        assert "MalformedTokenError (20101)" in result.stdout


@pytest.mark.parametrize(
    ("payload", "header", "line"),
    [
        ({"exp": 4_000_000_000}, {"alg": "HS512"}, "FAIL  20102"),
        ({"exp": 4_000_000_000, "iss": "AK" + "0" * 32}, None, "FAIL  20103 issuer"),
        ({"exp": 4_000_000_000, "sub": "not-an-account"}, None, "FAIL  20103 subject"),
        ({"exp": "tomorrow"}, None, "FAIL  20101 the exp claim"),
        ({"exp": 4_000_000_000, "nbf": 1_000_000_000}, None, "FAIL  20157"),
        ({"exp": 4_000_000_000, "nbf": 3_999_990_000, "grants": {}}, None, "FAIL  20105"),
    ],
)
def test_inspect_names_the_first_failing_check(
    payload: dict[str, Any], header: dict[str, Any] | None, line: str
) -> None:
    result = run("token", "inspect", forge(payload, header), "--secret", SECRET)

    assert result.exit_code == 1
    assert any(check.startswith(line) for check in check_lines(result.stdout)), result.stdout


def test_inspect_reports_missing_identity_as_20106() -> None:
    now = int(time.time())
    token = forge({"exp": now + 600, "nbf": now, "grants": {"chat": {"service_sid": SERVICE}}})

    result = run("token", "inspect", token, "--secret", SECRET)
    assert result.exit_code == 1
    assert check_lines(result.stdout)[-1].startswith("FAIL  20106")


# --- the installed console script -----------------------------------------------------------


def _script_environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ALL_VARIABLES}
    env.update(extra)
    return env


def test_installed_script_mints_and_python_m_inspects() -> None:
    script = Path(sys.executable).parent / "backchannel"
    minted = subprocess.run(
        [str(script), "token", "chat", "--identity", "alice"],
        env=_script_environment(**ENVIRONMENT), capture_output=True, text=True, timeout=60,
    )
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert TwilioAccessToken.from_jwt(token, SECRET).payload["grants"]["identity"] == "alice"

    inspected = subprocess.run(
        [sys.executable, "-m", "backchannel", "token", "inspect", "-"],
        input=token, env=_script_environment(TWILIO_API_SECRET=SECRET),
        capture_output=True, text=True, timeout=60,
    )
    assert inspected.returncode == 0, inspected.stdout + inspected.stderr
    assert "expires in" in inspected.stdout
    assert SECRET not in minted.stdout + minted.stderr + inspected.stdout + inspected.stderr


def test_installed_script_fails_in_one_line_without_a_traceback() -> None:
    script = Path(sys.executable).parent / "backchannel"
    env = {name: value for name, value in ENVIRONMENT.items() if name != "TWILIO_API_SECRET"}
    failed = subprocess.run(
        [str(script), "token", "chat", "--identity", "alice"],
        env=_script_environment(**env), capture_output=True, text=True, timeout=60,
    )
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr.splitlines() == [
        "error: no API key secret: pass --api-secret or set TWILIO_API_SECRET "
        "(see 'backchannel token chat --help')"
    ]
