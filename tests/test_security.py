"""The hostile-token suite: each case is a token an attacker (or a broken client) might send,
and the Twilio error code the verifier must answer with.

Every token is crafted here with the standard library only (hmac, base64, json), so nothing in
``backchannel.tokens`` helps build what it is asked to refuse. Tokens that target checks made
after the signature are signed correctly, so each case proves the rule it names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest

from backchannel.tokens import (
    InvalidGrantsError,
    InvalidHeaderError,
    InvalidIssuerError,
    InvalidSignatureError,
    LifetimeTooLongError,
    MalformedTokenError,
    SigningKey,
    TokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenVerifier,
)

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
KEY_SID = "SKfedcba9876543210fedcba9876543210"
SERVICE_SID = "IS00112233445566778899aabbccddeeff"
SECRET = b"backchannel-test-secret-0123456789abcdef"
OTHER_ACCOUNT_SID = "ACffffffffffffffffffffffffffffffff"
OTHER_KEY_SID = "SK11111111111111111111111111111111"
OTHER_SECRET = b"another-accounts-secret-0123456789abcdef"
NOW = 1_700_000_000
HEADER: dict[str, Any] = {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}
# What a server might publish as its public key: the secret in CVE-2022-29217-style attacks.
PUBLIC_KEY = (
    b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPL6yeoLULh7ys9aYSRk0M6fcjUnlzY6bM1/pJMSPdvC "
    b"backchannel@example.com"
)
DROP: Any = object()

CLASSES: dict[int, type[TokenError]] = {
    20101: MalformedTokenError,
    20102: InvalidHeaderError,
    20103: InvalidIssuerError,
    20104: TokenExpiredError,
    20105: TokenNotYetValidError,
    20106: InvalidGrantsError,
    20107: InvalidSignatureError,
    20157: LifetimeTooLongError,
}

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def raw_json(value: Any) -> bytes:
    """Compact JSON; NaN and Infinity written as Python writes them (not valid JSON)."""
    return json.dumps(value, separators=(",", ":")).encode()


def raw_object(pairs: list[tuple[str, Any]]) -> bytes:
    """A JSON object written pair by pair, so a key can appear twice."""
    return b"{" + b",".join(raw_json(k) + b":" + raw_json(v) for k, v in pairs) + b"}"


def claims(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "jti": f"{KEY_SID}-{NOW}",
        "grants": {"identity": "alice", "chat": {"service_sid": SERVICE_SID}},
        "iss": KEY_SID,
        "exp": NOW + 3600,
        "nbf": NOW,
        "sub": ACCOUNT_SID,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not DROP}


def with_raw_grants(grants: bytes) -> bytes:
    """The standard claims, with ``grants`` spliced in as raw JSON."""
    return raw_json(claims(grants="@GRANTS@")).replace(b'"@GRANTS@"', grants)


def sign(signing_input: str, secret: bytes = SECRET, digest: Any = hashlib.sha256) -> bytes:
    return hmac.new(secret, signing_input.encode("ascii"), digest).digest()


def token(
    header: Any = HEADER,
    payload: Any = DROP,
    secret: bytes = SECRET,
    *,
    digest: Any = hashlib.sha256,
    signature: bytes | None = None,
) -> str:
    """A compact JWT; dicts become JSON, bytes are used as the exact segment contents."""
    if payload is DROP:
        payload = claims()
    head = header if isinstance(header, bytes) else raw_json(header)
    body = payload if isinstance(payload, bytes) else raw_json(payload)
    signing_input = b64url(head) + "." + b64url(body)
    if signature is None:
        signature = sign(signing_input, secret, digest)
    return signing_input + "." + b64url(signature)


def segments(jwt: str) -> list[str]:
    return jwt.split(".")


def flip_unused_bits(segment: str) -> str:
    """The same bytes, spelled with the last character's unused low bit set differently."""
    assert len(segment) % 4 in (2, 3), "this segment has no unused bits"
    return segment[:-1] + B64_ALPHABET[B64_ALPHABET.index(segment[-1]) ^ 1]


def standard_alphabet(jwt: str) -> str:
    """The token in standard base64 (``+``/``/``), which base64url forbids."""
    return jwt.replace("-", "+").replace("_", "/")


def token_with_urlsafe_characters() -> str:
    """A valid token containing ``-`` or ``_``, so its standard-alphabet spelling differs."""
    for n in range(1000):
        jwt = token(payload=claims(jti=f"{KEY_SID}-{NOW}-{n}"))
        if "-" in jwt or "_" in jwt:
            return jwt
    raise AssertionError("no token with - or _")  # pragma: no cover


def replace_segment(jwt: str, index: int, value: str) -> str:
    parts = segments(jwt)
    parts[index] = value
    return ".".join(parts)


VALID = token()
TAMPERED_PAYLOAD = b64url(
    raw_json(claims(grants={"identity": "admin", "chat": {"service_sid": SERVICE_SID}}))
)
OTHER_TOKEN = token(payload=claims(grants={"identity": "bob"}))

Case = Callable[[], str | bytes]


def case(make: Case, code: int, id: str) -> Any:
    return pytest.param(make, code, id=id)


HOSTILE = [
    # --- alg: only exactly "HS256" ------------------------------------------------------------
    case(lambda: token(HEADER | {"alg": "none"}), 20102, "alg-none-with-hmac-signature"),
    case(
        lambda: token(HEADER | {"alg": "none"}).rsplit(".", 1)[0] + ".",
        20101,
        "alg-none-with-empty-signature",
    ),
    case(lambda: token(HEADER | {"alg": "None"}), 20102, "alg-None-capitalised"),
    case(lambda: token(HEADER | {"alg": "NONE"}), 20102, "alg-NONE-upper-case"),
    case(lambda: token(HEADER | {"alg": None}), 20102, "alg-null"),
    case(lambda: token(HEADER | {"alg": ""}), 20102, "alg-empty-string"),
    case(lambda: token({k: v for k, v in HEADER.items() if k != "alg"}), 20102, "alg-missing"),
    case(lambda: token(HEADER | {"alg": "hs256"}), 20102, "alg-hs256-lower-case"),
    case(lambda: token(HEADER | {"alg": "Hs256"}), 20102, "alg-Hs256-mixed-case"),
    case(lambda: token(HEADER | {"alg": "HS256 "}), 20102, "alg-HS256-trailing-space"),
    case(lambda: token(HEADER | {"alg": ["HS256"]}), 20102, "alg-array"),
    case(
        lambda: token(HEADER | {"alg": "HS384"}, digest=hashlib.sha384),
        20102,
        "alg-HS384-same-secret",
    ),
    case(
        lambda: token(HEADER | {"alg": "HS512"}, digest=hashlib.sha512),
        20102,
        "alg-HS512-same-secret",
    ),
    case(lambda: token(HEADER | {"alg": "RS256"}), 20102, "alg-RS256-hmac-with-same-secret"),
    case(lambda: token(HEADER | {"alg": "ES256"}), 20102, "alg-ES256-hmac-with-same-secret"),
    case(lambda: token(HEADER | {"alg": "PS256"}), 20102, "alg-PS256-hmac-with-same-secret"),
    case(
        lambda: token(HEADER | {"alg": "ES256"}, signature=bytes(64)),
        20102,
        "cve-2022-21449-psychic-ecdsa-zero-signature",
    ),
    case(
        lambda: token(HEADER | {"alg": "EdDSA"}, secret=PUBLIC_KEY),
        20102,
        "cve-2022-29217-eddsa-header-hmac-with-public-key",
    ),
    case(
        lambda: token(HEADER, secret=PUBLIC_KEY),
        20107,
        "cve-2022-29217-hs256-signed-with-public-key-as-secret",
    ),
    case(
        lambda: token(HEADER | {"alg": "RS256"}, secret=PUBLIC_KEY),
        20102,
        "cve-2015-9235-rs256-header-hmac-with-public-key",
    ),
    # --- header parameters beyond alg/typ/cty/twr ------------------------------------------------
    case(lambda: token(HEADER | {"kid": KEY_SID}), 20102, "header-kid"),
    case(
        lambda: token(HEADER | {"kid": "../../../../dev/null"}, secret=b""),
        20102,
        "header-kid-path-traversal-signed-with-empty-key",
    ),
    case(
        lambda: token(HEADER | {"kid": "x' UNION SELECT 'secret"}, secret=b"secret"),
        20102,
        "header-kid-sql-injection",
    ),
    case(
        lambda: token(HEADER | {"jku": "https://attacker.example/jwks.json"}), 20102, "header-jku"
    ),
    case(lambda: token(HEADER | {"x5u": "https://attacker.example/cert.pem"}), 20102, "header-x5u"),
    case(lambda: token(HEADER | {"x5c": ["MIIB..."]}), 20102, "header-x5c"),
    case(
        lambda: token(
            HEADER | {"jwk": {"kty": "oct", "k": b64url(b"attacker-key")}}, secret=b"attacker-key"
        ),
        20102,
        "cve-2018-0114-embedded-jwk",
    ),
    case(lambda: token(HEADER | {"crit": ["exp"]}), 20102, "header-crit"),
    case(
        lambda: token(HEADER | {"b64": False, "crit": ["b64"]}),
        20102,
        "header-b64-false-unencoded-payload",
    ),
    case(lambda: token(HEADER | {"zip": "DEF"}), 20102, "header-zip"),
    case(lambda: token(HEADER | {"enc": "A128GCM"}), 20102, "header-enc-jwe"),
    # --- typ / cty / twr -------------------------------------------------------------------------
    case(lambda: token(HEADER | {"typ": "jwt"}), 20102, "typ-lower-case"),
    case(lambda: token(HEADER | {"typ": "JWS"}), 20102, "typ-JWS"),
    case(lambda: token({"alg": "HS256", "cty": "twilio-fpa;v=1"}), 20102, "typ-missing"),
    case(lambda: token(HEADER | {"cty": "JWT"}), 20102, "cty-nested-jwt"),
    case(lambda: token(HEADER | {"cty": "twilio-fpa;v=2"}), 20102, "cty-wrong-version"),
    case(lambda: token({"alg": "HS256", "typ": "JWT"}), 20102, "cty-missing"),
    case(lambda: token(HEADER | {"twr": 1}), 20102, "twr-not-a-string"),
    case(lambda: token(HEADER | {"twr": "us1\n"}), 20102, "twr-newline"),
    case(lambda: token(HEADER | {"twr": None}), 20102, "twr-null"),
    case(lambda: token({}), 20102, "header-empty-object"),
    # --- compact serialization: three canonical base64url segments --------------------------------
    case(lambda: VALID + "=", 20101, "padding-on-signature"),
    case(lambda: replace_segment(VALID, 0, segments(VALID)[0] + "="), 20101, "padding-on-header"),
    case(lambda: replace_segment(VALID, 1, segments(VALID)[1] + "=="), 20101, "padding-on-payload"),
    case(lambda: " " + VALID, 20101, "leading-space"),
    case(lambda: VALID + " ", 20101, "trailing-space"),
    case(lambda: VALID + "\n", 20101, "trailing-newline"),
    case(lambda: VALID + "\r\n", 20101, "trailing-crlf"),
    case(lambda: VALID.replace(".", ". ", 1), 20101, "space-after-dot"),
    case(lambda: VALID[:20] + "\n" + VALID[20:], 20101, "newline-inside-header"),
    case(lambda: VALID[:-10] + "\t" + VALID[-10:], 20101, "tab-inside-signature"),
    case(
        lambda: replace_segment(VALID, 2, flip_unused_bits(segments(VALID)[2])),
        20101,
        "signature-non-canonical-trailing-bits",
    ),
    case(
        lambda: replace_segment(VALID, 0, flip_unused_bits(segments(VALID)[0])),
        20101,
        "header-non-canonical-trailing-bits",
    ),
    case(
        lambda: standard_alphabet(token_with_urlsafe_characters()),
        20101,
        "standard-base64-alphabet",
    ),
    case(lambda: VALID.rsplit(".", 1)[0], 20101, "two-segments"),
    case(lambda: VALID + "." + segments(VALID)[2], 20101, "four-segments"),
    case(lambda: VALID + "..", 20101, "five-segments"),
    case(lambda: "..", 20101, "all-segments-empty"),
    case(lambda: replace_segment(VALID, 1, ""), 20101, "empty-payload-segment"),
    case(lambda: replace_segment(VALID, 0, ""), 20101, "empty-header-segment"),
    case(lambda: replace_segment(VALID, 2, ""), 20101, "empty-signature-segment"),
    case(
        lambda: token(payload=claims(grants={"identity": "a", "video": {"room": "r" * 7000}})),
        20101,
        "oversized-over-8-kib-but-validly-signed",
    ),
    case(lambda: VALID + "é", 20101, "non-ascii-character"),
    case(lambda: VALID.replace(".", "\u2024", 1), 20101, "non-ascii-lookalike-dot"),
    case(lambda: VALID.encode() + b"\xff", 20101, "non-ascii-byte"),
    case(lambda: VALID[:5] + "\x00" + VALID[5:], 20101, "nul-character"),
    case(lambda: "\ufeff" + VALID, 20101, "bom-before-token"),
    # --- header and payload must be strict UTF-8 JSON objects --------------------------------
    case(lambda: token(b"not json"), 20101, "header-not-json"),
    case(lambda: token(b'["HS256","JWT"]'), 20101, "header-json-array"),
    case(lambda: token(b'"HS256"'), 20101, "header-json-string"),
    case(lambda: token(b"null"), 20101, "header-json-null"),
    case(lambda: token(raw_json(HEADER | {"x": float("nan")})), 20101, "header-nan"),
    case(
        lambda: token(raw_object([("alg", "none"), *HEADER.items()])), 20101, "header-duplicate-alg"
    ),
    case(
        lambda: token(b'{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1","x":"\xff"}'),
        20101,
        "header-non-utf8",
    ),
    case(lambda: token(b"\xef\xbb\xbf" + raw_json(HEADER)), 20101, "header-utf8-bom"),
    case(lambda: token(HEADER, b"not json"), 20101, "payload-not-json"),
    case(lambda: token(HEADER, raw_json(list(claims().items()))), 20101, "payload-json-array"),
    case(lambda: token(HEADER, b"42"), 20101, "payload-json-number"),
    case(lambda: token(HEADER, raw_json(claims(exp=float("nan")))), 20101, "payload-exp-nan"),
    case(lambda: token(HEADER, raw_json(claims(exp=float("inf")))), 20101, "payload-exp-infinity"),
    case(
        lambda: token(HEADER, raw_json(claims(nbf=float("-inf")))),
        20101,
        "payload-nbf-minus-infinity",
    ),
    case(
        lambda: token(HEADER, raw_json(claims()).replace(b'"exp":1700003600', b'"exp":1e400')),
        20101,
        "payload-exp-overflowing-float",
    ),
    case(
        lambda: token(HEADER, raw_object([*claims().items(), ("iss", OTHER_KEY_SID)])),
        20101,
        "payload-duplicate-iss",
    ),
    case(
        lambda: token(HEADER, raw_object([*claims().items(), ("exp", NOW + 10**8)])),
        20101,
        "payload-duplicate-exp",
    ),
    case(
        lambda: token(HEADER, raw_object([*claims().items(), ("sub", OTHER_ACCOUNT_SID)])),
        20101,
        "payload-duplicate-sub",
    ),
    case(
        lambda: token(
            HEADER,
            with_raw_grants(
                raw_object(
                    [
                        ("identity", "alice"),
                        ("identity", "admin"),
                        ("chat", {"service_sid": SERVICE_SID}),
                    ]
                )
            ),
        ),
        20101,
        "grants-duplicate-identity",
    ),
    case(
        lambda: token(
            HEADER,
            with_raw_grants(
                b'{"identity":"alice","chat":{"service_sid":"'
                + SERVICE_SID.encode()
                + b'","service_sid":"ISffffffffffffffffffffffffffffffff"}}'
            ),
        ),
        20101,
        "chat-grant-duplicate-service-sid",
    ),
    case(
        lambda: token(
            HEADER,
            json.dumps(claims(grants={"identity": "zoë"}), ensure_ascii=False).encode("latin-1"),
        ),
        20101,
        "payload-latin1-not-utf8",
    ),
    case(lambda: token(HEADER, json.dumps(claims()).encode("utf-16")), 20101, "payload-utf16"),
    case(lambda: token(HEADER, b"\xef\xbb\xbf" + raw_json(claims())), 20101, "payload-utf8-bom"),
    case(
        lambda: token(
            HEADER, with_raw_grants(b'{"identity":"alice","x":' + b"[" * 2500 + b"]" * 2500 + b"}")
        ),
        20101,
        "payload-nested-2500-deep",
    ),
    # --- signature ---------------------------------------------------------------------------
    case(
        lambda: replace_segment(VALID, 1, TAMPERED_PAYLOAD),
        20107,
        "tampered-payload-with-original-signature",
    ),
    case(
        lambda: replace_segment(VALID, 0, b64url(raw_json(HEADER | {"twr": "us1"}))),
        20107,
        "tampered-header-with-original-signature",
    ),
    case(
        lambda: replace_segment(VALID, 2, segments(OTHER_TOKEN)[2]),
        20107,
        "signature-of-another-token",
    ),
    case(lambda: token(secret=OTHER_SECRET), 20107, "signature-from-another-key"),
    case(lambda: token(secret=b""), 20107, "signature-with-empty-key"),
    case(lambda: token(secret=SECRET + b"x"), 20107, "signature-with-secret-plus-a-byte"),
    case(lambda: token(secret=SECRET[:-1]), 20107, "signature-with-truncated-secret"),
    case(
        lambda: token(signature=sign(b64url(raw_json(HEADER)))), 20107, "signature-over-header-only"
    ),
    case(
        lambda: token(
            signature=sign(b64url(raw_json(HEADER)) + "." + b64url(raw_json(claims())))[:16]
        ),
        20107,
        "signature-truncated-to-16-bytes",
    ),
    case(
        lambda: token(
            signature=sign(b64url(raw_json(HEADER)) + "." + b64url(raw_json(claims())))[:1]
        ),
        20107,
        "signature-truncated-to-1-byte",
    ),
    case(lambda: token(signature=bytes(32)), 20107, "signature-all-zero"),
    case(lambda: VALID + segments(VALID)[2], 20107, "signature-doubled-text"),
    case(
        lambda: token(
            signature=sign(b64url(raw_json(HEADER)) + "." + b64url(raw_json(claims()))) * 2
        ),
        20107,
        "signature-doubled-bytes",
    ),
    # --- issuer and subject ------------------------------------------------------------------
    case(
        lambda: token(payload=claims(iss=OTHER_KEY_SID), secret=OTHER_SECRET),
        20103,
        "key-of-another-account-sub-mismatch",
    ),
    case(lambda: token(payload=claims(sub=OTHER_ACCOUNT_SID)), 20103, "sub-of-another-account"),
    case(lambda: token(payload=claims(sub=DROP)), 20103, "sub-missing"),
    case(lambda: token(payload=claims(sub=123)), 20103, "sub-not-a-string"),
    case(
        lambda: token(payload=claims(sub="AC" + ACCOUNT_SID[2:].upper())),
        20103,
        "sub-different-case",
    ),
    case(lambda: token(payload=claims(iss="SK" + "2" * 32)), 20103, "iss-unknown"),
    case(lambda: token(payload=claims(iss=DROP)), 20103, "iss-missing"),
    case(lambda: token(payload=claims(iss=123)), 20103, "iss-number"),
    case(lambda: token(payload=claims(iss=None)), 20103, "iss-null"),
    case(lambda: token(payload=claims(iss=[KEY_SID])), 20103, "iss-array"),
    case(lambda: token(payload=claims(iss={"sid": KEY_SID})), 20103, "iss-object"),
    case(lambda: token(payload=claims(iss="sk" + KEY_SID[2:])), 20103, "iss-lower-case-prefix"),
    case(lambda: token(payload=claims(iss=KEY_SID + " ")), 20103, "iss-trailing-space"),
    case(lambda: token(payload=claims(iss=ACCOUNT_SID)), 20103, "iss-an-account-sid"),
    case(lambda: token(payload={}), 20103, "payload-empty-object"),
    # --- claim types -------------------------------------------------------------------------
    case(lambda: token(payload=claims(exp=DROP)), 20101, "exp-missing"),
    case(lambda: token(payload=claims(exp=None)), 20101, "exp-null"),
    case(lambda: token(payload=claims(exp=str(NOW + 3600))), 20101, "exp-string"),
    case(lambda: token(payload=claims(exp=NOW + 3600.5)), 20101, "exp-float"),
    case(lambda: token(payload=claims(exp=float(NOW + 3600))), 20101, "exp-integral-float"),
    case(lambda: token(payload=claims(exp=True)), 20101, "exp-bool"),
    case(lambda: token(payload=claims(exp=-1)), 20101, "exp-negative"),
    case(lambda: token(payload=claims(exp=2**64)), 20101, "exp-huge-beyond-2-53"),
    case(lambda: token(payload=claims(exp=[NOW + 3600])), 20101, "exp-array"),
    case(lambda: token(payload=claims(nbf=str(NOW))), 20101, "nbf-string"),
    case(lambda: token(payload=claims(nbf=True)), 20101, "nbf-bool"),
    case(lambda: token(payload=claims(nbf=NOW + 0.5)), 20101, "nbf-float"),
    case(lambda: token(payload=claims(iat=str(NOW))), 20101, "iat-string"),
    case(lambda: token(payload=claims(iat=float(NOW))), 20101, "iat-float"),
    case(lambda: token(payload=claims(jti=42)), 20101, "jti-number"),
    case(lambda: token(payload=claims(jti={"id": 1})), 20101, "jti-object"),
    # --- times ---------------------------------------------------------------------------------
    case(lambda: token(payload=claims(exp=NOW - 3600, nbf=NOW - 7200)), 20104, "expired"),
    case(lambda: token(payload=claims(exp=0, nbf=DROP)), 20104, "exp-zero-epoch"),
    case(lambda: token(payload=claims(nbf=NOW + 3600, exp=NOW + 7200)), 20105, "nbf-in-the-future"),
    case(
        lambda: token(payload=claims(nbf=DROP, iat=NOW + 3600, exp=NOW + 7200)),
        20105,
        "iat-in-the-future",
    ),
    case(lambda: token(payload=claims(exp=NOW + 86401)), 20157, "lifetime-over-24h-via-nbf"),
    case(
        lambda: token(payload=claims(nbf=DROP, iat=NOW, exp=NOW + 86401)),
        20157,
        "lifetime-over-24h-via-iat",
    ),
    case(
        lambda: token(payload=claims(nbf=DROP, exp=NOW + 86401)),
        20157,
        "lifetime-over-24h-via-exp-minus-now",
    ),
    case(lambda: token(payload=claims(exp=10**10)), 20157, "exp-in-the-year-2286"),
    # --- grants --------------------------------------------------------------------------------
    case(lambda: token(payload=claims(grants=DROP)), 20106, "grants-missing"),
    case(lambda: token(payload=claims(grants=None)), 20106, "grants-null"),
    case(lambda: token(payload=claims(grants=["identity", "alice"])), 20106, "grants-array"),
    case(lambda: token(payload=claims(grants="alice")), 20106, "grants-string"),
    case(
        lambda: token(payload=claims(grants={"chat": {"service_sid": SERVICE_SID}})),
        20106,
        "identity-missing",
    ),
    case(lambda: token(payload=claims(grants={"identity": ""})), 20106, "identity-empty"),
    case(lambda: token(payload=claims(grants={"identity": 42})), 20106, "identity-number"),
    case(lambda: token(payload=claims(grants={"identity": None})), 20106, "identity-null"),
    case(lambda: token(payload=claims(grants={"identity": ["alice"]})), 20106, "identity-array"),
    case(
        lambda: token(payload=claims(grants={"identity": "a" * 257})),
        20106,
        "identity-257-characters",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice\r\nX-Admin: 1"})),
        20106,
        "identity-crlf-injection",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice\x00admin"})), 20106, "identity-nul"
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "\x1b[2Jalice"})),
        20106,
        "identity-terminal-escape",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice\x85"})),
        20106,
        "identity-c1-control",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice\ud800"})),
        20106,
        "identity-lone-surrogate",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice", "chat": "IS"})),
        20106,
        "chat-grant-string",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice", "chat": [SERVICE_SID]})),
        20106,
        "chat-grant-array",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice", "chat": None})),
        20106,
        "chat-grant-null",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice", "chat": {}})),
        20106,
        "chat-service-sid-missing",
    ),
    case(
        lambda: token(
            payload=claims(grants={"identity": "alice", "chat": {"service_sid": "IS123"}})
        ),
        20106,
        "chat-service-sid-too-short",
    ),
    case(
        lambda: token(
            payload=claims(grants={"identity": "alice", "chat": {"service_sid": "CH" + "0" * 32}})
        ),
        20106,
        "chat-service-sid-of-a-channel",
    ),
    case(
        lambda: token(
            payload=claims(
                grants={"identity": "alice", "chat": {"service_sid": SERVICE_SID + "\n"}}
            )
        ),
        20106,
        "chat-service-sid-trailing-newline",
    ),
    case(
        lambda: token(payload=claims(grants={"identity": "alice", "chat": {"service_sid": 1}})),
        20106,
        "chat-service-sid-number",
    ),
]


@pytest.fixture
def verifier() -> TokenVerifier:
    keys = {
        KEY_SID: SigningKey(SECRET, ACCOUNT_SID),
        OTHER_KEY_SID: SigningKey(OTHER_SECRET, OTHER_ACCOUNT_SID),
    }
    return TokenVerifier(keys, clock=lambda: NOW)


def test_the_suite_has_at_least_forty_cases() -> None:
    assert len(HOSTILE) >= 40
    assert len({param.id for param in HOSTILE}) == len(HOSTILE)


def test_the_untampered_baseline_token_verifies(verifier: TokenVerifier) -> None:
    verified = verifier.verify(VALID)
    assert (verified.identity, verified.service_sid) == ("alice", SERVICE_SID)


def test_flipping_unused_bits_keeps_the_bytes_for_a_lenient_decoder() -> None:
    # So the non-canonical cases test canonicality and not simply a changed signature.
    for index in (0, 2):
        original = segments(VALID)[index]
        flipped = flip_unused_bits(original)
        assert flipped != original

        def lenient(s: str) -> bytes:
            return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

        assert lenient(flipped) == lenient(original)


@pytest.mark.parametrize(("make", "code"), HOSTILE)
def test_verify_rejects_hostile_token(verifier: TokenVerifier, make: Case, code: int) -> None:
    hostile = make()
    with pytest.raises(TokenError) as raised:
        verifier.verify(hostile)
    assert raised.value.code == code, f"{type(raised.value).__name__}: {raised.value}"
    assert type(raised.value) is CLASSES[code]
