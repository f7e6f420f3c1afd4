"""Interop both ways: PyJWT and twilio-python read our tokens; we verify twilio-python's."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from twilio.jwt.access_token import AccessToken as TwilioAccessToken
from twilio.jwt.access_token import grants as twilio_grants

from backchannel.tokens import AccessToken, InvalidSignatureError, TokenVerifier
from backchannel.tokens import grants as our_grants

from .conftest import (
    ACCOUNT_SID,
    CREDENTIAL_SID,
    KEY_SID,
    OTHER_SECRET,
    ROLE_SID,
    SECRET,
    SERVICE_SID,
    decode_parts,
)

APPLICATION_SID = "AP0123456789abcdef0123456789abcdef"
WORKSPACE_SID = "WS0123456789abcdef0123456789abcdef"
WORKER_SID = "WK0123456789abcdef0123456789abcdef"


def _grants(module: Any, kind: str) -> list[Any]:
    chat = module.ChatGrant(SERVICE_SID)
    if kind == "chat":
        return [chat]
    if kind == "chat-full":
        return [module.ChatGrant(SERVICE_SID, "app:alice:web", ROLE_SID, CREDENTIAL_SID)]
    return [
        chat,
        module.SyncGrant(SERVICE_SID, "sync-endpoint"),
        module.VideoGrant("standup"),
        module.VoiceGrant(True, APPLICATION_SID, {"to": "+15555550100"}, CREDENTIAL_SID, "v-ep"),
        module.TaskRouterGrant(WORKSPACE_SID, WORKER_SID, "worker"),
        module.PlaybackGrant({"playbackUrl": "https://example.com/p"}),
    ]


CASES = [
    pytest.param({"identity": "alice"}, "chat", id="chat"),
    pytest.param({"identity": "alice", "region": "us1"}, "chat", id="region"),
    pytest.param({"identity": "alice", "ttl": 86400}, "chat", id="ttl-24h"),
    pytest.param({"identity": "alice", "ttl": 1}, "chat", id="ttl-1s"),
    pytest.param({"identity": "alice", "nbf": None}, "chat", id="no-nbf"),
    pytest.param({"identity": "zoë 日本 🙂"}, "chat-full", id="non-ascii-identity"),
    pytest.param({"identity": "a" * 256}, "chat", id="identity-256"),
    pytest.param({"identity": "alice", "region": "ie1"}, "every", id="every-grant"),
]


def _ours(kwargs: dict[str, Any], kind: str) -> str:
    token = AccessToken(
        ACCOUNT_SID, KEY_SID, SECRET, grants=_grants(our_grants, kind), **kwargs
    ).to_jwt()
    assert isinstance(token, str)
    return token


def _theirs(kwargs: dict[str, Any], kind: str) -> str:
    token = TwilioAccessToken(
        ACCOUNT_SID, KEY_SID, SECRET, grants=_grants(twilio_grants, kind), **kwargs
    ).to_jwt()
    assert isinstance(token, str)
    return token


# --- our tokens, read by PyJWT and twilio-python ------------------------------------------------


@pytest.mark.parametrize(("kwargs", "kind"), CASES)
def test_pyjwt_decodes_our_token_with_the_secret(kwargs: dict[str, Any], kind: str) -> None:
    token = _ours(kwargs, kind)
    header, payload = decode_parts(token)
    assert jwt.get_unverified_header(token) == header
    assert jwt.decode(token, SECRET, algorithms=["HS256"]) == payload
    assert payload["iss"] == KEY_SID
    assert payload["sub"] == ACCOUNT_SID
    assert payload["grants"]["identity"] == kwargs["identity"]


@pytest.mark.parametrize(("kwargs", "kind"), CASES)
def test_pyjwt_refuses_our_token_with_another_secret(kwargs: dict[str, Any], kind: str) -> None:
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(_ours(kwargs, kind), OTHER_SECRET, algorithms=["HS256"])


@pytest.mark.parametrize(("kwargs", "kind"), CASES)
def test_twilio_python_from_jwt_reads_our_token(kwargs: dict[str, Any], kind: str) -> None:
    token = _ours(kwargs, kind)
    header, payload = decode_parts(token)
    decoded = TwilioAccessToken.from_jwt(token, SECRET)
    assert decoded.payload == payload
    assert decoded.headers == header
    assert decoded.issuer == KEY_SID
    assert decoded.subject == ACCOUNT_SID
    assert decoded.valid_until == payload["exp"]
    assert decoded.nbf == payload.get("nbf")
    assert decoded.payload["grants"]["identity"] == kwargs["identity"]


@pytest.mark.parametrize(("kwargs", "kind"), CASES)
def test_our_grants_claim_equals_twilio_pythons(kwargs: dict[str, Any], kind: str) -> None:
    ours = jwt.decode(_ours(kwargs, kind), SECRET, algorithms=["HS256"])
    theirs = jwt.decode(_theirs(kwargs, kind), SECRET, algorithms=["HS256"])
    assert ours["grants"] == theirs["grants"]
    assert jwt.get_unverified_header(_ours(kwargs, kind)) == jwt.get_unverified_header(
        _theirs(kwargs, kind)
    )


# --- twilio-python's tokens, verified by us -----------------------------------------------------


@pytest.mark.parametrize(("kwargs", "kind"), CASES)
def test_we_verify_twilio_pythons_token(
    live_verifier: TokenVerifier, kwargs: dict[str, Any], kind: str
) -> None:
    token = _theirs(kwargs, kind)
    _, payload = decode_parts(token)
    verified = live_verifier.verify(token)
    assert verified.identity == kwargs["identity"]
    assert verified.account_sid == ACCOUNT_SID
    assert verified.key_sid == KEY_SID
    assert verified.service_sid == SERVICE_SID
    assert dict(verified.grants) == payload["grants"]
    assert dict(verified.grants) == jwt.decode(token, SECRET, algorithms=["HS256"])["grants"]
    assert verified.expires_at == payload["exp"]
    assert verified.not_before == payload.get("nbf")
    assert verified.issued_at is None
    assert verified.jti == payload["jti"]
    assert verified.region == kwargs.get("region")


@pytest.mark.parametrize(("kwargs", "kind"), CASES)
def test_we_verify_our_token_to_what_twilio_python_decodes(
    live_verifier: TokenVerifier, kwargs: dict[str, Any], kind: str
) -> None:
    token = _ours(kwargs, kind)
    decoded = TwilioAccessToken.from_jwt(token, SECRET)
    verified = live_verifier.verify(token)
    assert dict(verified.grants) == decoded.payload["grants"]
    assert verified.expires_at == decoded.payload["exp"]
    assert verified.jti == decoded.payload["jti"]
    assert verified.region == decoded.headers.get("twr")


def test_we_refuse_twilio_pythons_token_signed_with_another_secret(
    live_verifier: TokenVerifier,
) -> None:
    token = TwilioAccessToken(
        ACCOUNT_SID,
        KEY_SID,
        OTHER_SECRET,
        grants=[twilio_grants.ChatGrant(SERVICE_SID)],
        identity="alice",
    ).to_jwt()
    with pytest.raises(InvalidSignatureError) as raised:
        live_verifier.verify(token)
    assert raised.value.code == 20107


def test_we_verify_a_pyjwt_token_with_twilios_header_and_claims(
    live_verifier: TokenVerifier,
) -> None:
    now = int(time.time())
    token = jwt.encode(
        {
            "jti": f"{KEY_SID}-{now}",
            "grants": {"identity": "alice", "chat": {"service_sid": SERVICE_SID}},
            "iss": KEY_SID,
            "sub": ACCOUNT_SID,
            "iat": now,
            "exp": now + 600,
        },
        SECRET,
        algorithm="HS256",
        headers={"cty": "twilio-fpa;v=1"},
    )
    verified = live_verifier.verify(token)
    assert verified.issued_at == now
    assert verified.not_before is None
