"""Shared fixtures for the backchannel.tokens tests.

Fixed SIDs and secrets, a frozen clock to inject into ``TokenVerifier``, and ``mint_raw``: a
token built from arbitrary header and payload with nothing but the standard library, so tests can
craft tokens that ``AccessToken`` would never make.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest

from backchannel.tokens import SigningKey, TokenVerifier

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
KEY_SID = "SKfedcba9876543210fedcba9876543210"
SERVICE_SID = "IS00112233445566778899aabbccddeeff"
ROLE_SID = "RL00112233445566778899aabbccddeeff"
CREDENTIAL_SID = "CR00112233445566778899aabbccddeeff"
# 32+ bytes, so PyJWT does not warn about short HMAC keys (warnings are errors here).
SECRET = "backchannel-test-secret-0123456789abcdef"

OTHER_ACCOUNT_SID = "ACffffffffffffffffffffffffffffffff"
OTHER_KEY_SID = "SK11111111111111111111111111111111"
OTHER_SECRET = "another-accounts-secret-0123456789abcdef"

NOW = 1_700_000_000
"""The frozen clock's time: 2023-11-14T22:13:20Z."""

TWILIO_HEADER: dict[str, Any] = {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}

DROP: Any = object()
"""Pass as a claim's value to ``claims`` to leave that claim out."""


class FrozenClock:
    """A clock for ``TokenVerifier(clock=...)`` that only moves when told to."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def b64url(raw: bytes) -> str:
    """base64url without padding, as JWTs spell it."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _segment_bytes(part: object) -> bytes:
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):
        return part.encode("utf-8")
    return json.dumps(part, separators=(",", ":")).encode("utf-8")


def hs256(signing_input: str | bytes, secret: str | bytes) -> bytes:
    """HMAC-SHA256 of ``signing_input`` under ``secret``."""
    if isinstance(signing_input, str):
        signing_input = signing_input.encode("ascii")
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    return hmac.new(secret, signing_input, hashlib.sha256).digest()


def mint_raw(
    header: object,
    payload: object,
    secret: str | bytes = SECRET,
    *,
    signature: bytes | None = None,
) -> str:
    """A compact JWT of ``header`` and ``payload``, HMAC-SHA256-signed with ``secret``.

    ``header`` and ``payload`` may be dicts (or any JSON value), written compactly and in the
    order given; ``str`` is taken as the JSON text and ``bytes`` as the exact raw segment, so
    invalid JSON, duplicate keys or non-UTF-8 bytes can be signed too. ``signature`` replaces the
    computed signature.
    """
    signing_input = b64url(_segment_bytes(header)) + "." + b64url(_segment_bytes(payload))
    if signature is None:
        signature = hs256(signing_input, secret)
    return signing_input + "." + b64url(signature)


def claims(**overrides: Any) -> dict[str, Any]:
    """twilio-python's claims for a chat token valid at ``NOW``; ``DROP`` removes a claim."""
    payload: dict[str, Any] = {
        "jti": f"{KEY_SID}-{NOW}",
        "grants": {"identity": "alice", "chat": {"service_sid": SERVICE_SID}},
        "iss": KEY_SID,
        "exp": NOW + 3600,
        "nbf": NOW,
        "sub": ACCOUNT_SID,
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not DROP}


def decode_segment(segment: str) -> Any:
    """The JSON value in one base64url segment of a token."""
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def decode_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of ``token``, unverified."""
    header, payload, _ = token.split(".")
    return decode_segment(header), decode_segment(payload)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def keys() -> dict[str, SigningKey]:
    return {
        KEY_SID: SigningKey(SECRET, ACCOUNT_SID),
        OTHER_KEY_SID: SigningKey(OTHER_SECRET, OTHER_ACCOUNT_SID),
    }


@pytest.fixture
def verifier(keys: dict[str, SigningKey], clock: FrozenClock) -> TokenVerifier:
    """A verifier that knows both test accounts' keys and lives at ``NOW``."""
    return TokenVerifier(keys, clock=clock)


@pytest.fixture
def live_verifier(keys: dict[str, SigningKey]) -> TokenVerifier:
    """A verifier on the real clock, for tokens minted just now."""
    return TokenVerifier(keys)


@pytest.fixture
def raw_token() -> Callable[..., str]:
    """``mint_raw`` as a fixture."""
    return mint_raw
