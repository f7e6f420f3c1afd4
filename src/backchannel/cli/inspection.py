"""What ``backchannel token inspect`` finds in a token.

The header and claims are decoded for display with the strict codec, without trusting them. The
verdict comes from the real ``TokenVerifier``, never from a re-implementation of its rules: the
verifier is run with a key lookup that answers for the token's own issuer, and the first check
that fails is recognised by the exception it raises. The checks before it passed; the ones after
it were not reached.

Inspect cannot know which account an API key belongs to, so its lookup hands the verifier the
token's own ``sub`` as the key's account: the subject check passes for any Account SID.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
    VerifiedToken,
    codec,
    sids,
)

clock: Callable[[], float] = time.time
"""The time tokens are judged at; tests replace it."""

LEEWAY = 60  # the verifier's default clock skew, stated in the report
UNCHECKED_HINT = "no secret (--secret or TWILIO_API_SECRET)"

# The verifier's checks, in the order it runs them, with their Twilio codes.
SHAPE, HEADER, ISSUER, SIGNATURE, SUBJECT, CLAIMS, EXPIRY, START, LIFETIME, GRANTS = range(10)
CODES = (20101, 20102, 20103, 20107, 20103, 20101, 20104, 20105, 20157, 20106)
_NAMES = (
    "well-formed JWT",
    "header",
    "issuer",
    "signature",
    "subject",
    "claim types",
    "expiry",
    "not before",
    "lifetime",
    "grants",
)


@dataclass(frozen=True)
class Check:
    """One line of the report: ``verdict`` is ``ok``, ``FAIL``, ``skip`` or ``--`` (not reached)."""

    verdict: str
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.verdict:<5} {self.code} {self.text}"


@dataclass(frozen=True)
class Inspection:
    """The decoded token (``header``/``claims`` are None when not decodable) and the verdict."""

    header: dict[str, Any] | None
    claims: dict[str, Any] | None
    times: list[str]
    checks: list[Check]
    verified: VerifiedToken | None
    error: TokenError | None
    now: float

    @property
    def valid(self) -> bool:
        return self.verified is not None


class _StopBeforeSignature(Exception):
    """Raised by the key lookup when there is no secret: the checks before it have passed."""


def decode_unverified(token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The header and payload objects, each None when it cannot be decoded. Nothing is verified."""
    segments = token.split(".")
    if len(segments) != 3:
        return None, None
    return _decode_segment(segments[0], "header"), _decode_segment(segments[1], "payload")


def _decode_segment(segment: str, what: str) -> dict[str, Any] | None:
    try:
        return codec.parse_object(codec.b64decode(segment.encode("ascii")), what)
    except (UnicodeEncodeError, MalformedTokenError):
        return None


def inspect_token(
    token: str, secret: str | None, *, clock: Callable[[], float]
) -> Inspection:
    """Decode ``token`` and run the verifier on it with ``secret`` (None: signature unchecked)."""
    now = clock()
    header, claims = decode_unverified(token)
    claims_or_empty = claims or {}
    reached_key_lookup = False

    def lookup(key_sid: str) -> SigningKey:
        nonlocal reached_key_lookup
        reached_key_lookup = True
        if secret is None:
            raise _StopBeforeSignature
        sub = claims_or_empty.get("sub")
        # Trust the token's sub as the key's account, but only if it is an Account SID: a key
        # always belongs to one, so anything else would fail the check on a real server too.
        return SigningKey(secret, sub if sids.is_sid(sub, sids.ACCOUNT) else "")

    verifier = TokenVerifier(lookup, leeway=LEEWAY, clock=lambda: now)
    verified: VerifiedToken | None = None
    error: TokenError | None = None
    try:
        verified = verifier.verify(token)
    except _StopBeforeSignature:
        failed = SIGNATURE
    except TokenError as exc:
        error = exc
        failed = _failed_check(exc, reached_key_lookup)
    else:
        failed = len(CODES)

    checks = []
    for index, code in enumerate(CODES):
        if index < failed:
            checks.append(Check("ok", code, _ok_text(index, header, claims_or_empty, now)))
        elif index == failed and error is None:
            checks.append(Check("skip", code, f"signature not checked: {UNCHECKED_HINT}"))
        elif index == failed and error is not None:
            checks.append(Check("FAIL", code, _fail_text(index, error, claims_or_empty, now)))
        else:
            checks.append(Check("--", code, f"{_NAMES[index]}: not reached"))
    return Inspection(header, claims, _times(claims_or_empty, now), checks, verified, error, now)


def _failed_check(exc: TokenError, reached_key_lookup: bool) -> int:
    # The verifier raises each class at known points; the key lookup splits the ambiguous ones:
    # before it the token's form and issuer are checked, after it (signature passed) its claims.
    by_class: list[tuple[type[TokenError], int, int]] = [
        (MalformedTokenError, SHAPE, CLAIMS),
        (InvalidHeaderError, HEADER, HEADER),
        (InvalidIssuerError, ISSUER, SUBJECT),
        (InvalidSignatureError, SIGNATURE, SIGNATURE),
        (TokenExpiredError, EXPIRY, EXPIRY),
        (TokenNotYetValidError, START, START),
        (LifetimeTooLongError, LIFETIME, LIFETIME),
        (InvalidGrantsError, GRANTS, GRANTS),
    ]
    for cls, before, after in by_class:
        if isinstance(exc, cls):
            return after if reached_key_lookup else before
    # A failure this report does not know yet: place it by its code.
    return CODES.index(exc.code) if exc.code in CODES else SHAPE



def _ok_text(index: int, header: dict[str, Any] | None, claims: dict[str, Any], now: float) -> str:
    if index == HEADER:
        region = (header or {}).get("twr")
        return "header HS256/JWT/twilio-fpa;v=1" + (f" region {region}" if region else "")
    if index == ISSUER:
        return f"issuer {claims.get('iss')} (API Key SID)"
    if index == SIGNATURE:
        return "signature matches the secret (HMAC-SHA256)"
    if index == SUBJECT:
        sub = claims.get("sub")
        return f"subject {sub} (taken on trust: inspect cannot know the key's account)"
    if index == CLAIMS:
        return "claim types (exp, nbf, iat, jti)"
    if index == EXPIRY:
        words = expiry_words(claims["exp"], now)
        return f"not expired: {words}" if claims["exp"] > now else f"expiry: {words}"
    if index == START:
        return "valid now (nbf and iat not in the future)"
    if index == LIFETIME:
        return f"lifetime {_lifetime_words(claims)} (at most 24 h)"
    if index == GRANTS:
        grants = claims.get("grants", {})
        chat = grants.get("chat")
        service = f", chat service {chat['service_sid']}" if isinstance(chat, dict) else ""
        return f"grants: identity {grants.get('identity')!r}{service}"
    return _NAMES[index]


def _fail_text(index: int, error: TokenError, claims: dict[str, Any], now: float) -> str:
    if index == SHAPE:
        return f"not a well-formed JWT: {error.message}"
    if index == ISSUER:
        return f"issuer {claims.get('iss')!r} is not an API Key SID (SK and 32 hex digits)"
    if index == SIGNATURE:
        return "signature does not match the secret"
    if index == SUBJECT:
        return f"subject {claims.get('sub')!r} is not an Account SID (AC and 32 hex digits)"
    if index == EXPIRY and _is_time(claims.get("exp")):
        return expiry_words(claims["exp"], now)
    if index == START:
        future = [claims[n] for n in ("nbf", "iat") if _is_time(claims.get(n))]
        if future and max(future) > now:
            return f"not valid for another {duration(max(future) - now)}"
    return error.message


def _is_time(value: object) -> bool:
    return type(value) is int


def expiry_words(exp: int, now: float) -> str:
    """``expires in 54 min`` or ``expired 3 h ago``, noting the leeway the verifier allows."""
    if exp > now:
        return f"expires in {duration(exp - now)}"
    words = f"expired {duration(now - exp)} ago"
    if exp > now - LEEWAY:
        words += f" (still accepted: {LEEWAY} s leeway)"
    return words


def _lifetime_words(claims: dict[str, Any]) -> str:
    start = next((claims[n] for n in ("nbf", "iat") if _is_time(claims.get(n))), None)
    if start is None or not _is_time(claims.get("exp")):
        return "unknown"
    return duration(claims["exp"] - start)


def _times(claims: dict[str, Any], now: float) -> list[str]:
    lines = []
    iat, nbf, exp = (claims[n] if _is_time(claims.get(n)) else None for n in ("iat", "nbf", "exp"))
    if iat is not None:
        lines.append(f"issued {_relative(iat, now)} (iat {iso(iat)})")
    if nbf is not None:
        if nbf > now:
            lines.append(f"not valid for another {duration(nbf - now)} (nbf {iso(nbf)})")
        elif iat is None:  # twilio-python sets nbf, not iat, to the time it minted
            lines.append(f"issued {_relative(nbf, now)} (nbf {iso(nbf)})")
        else:
            lines.append(f"valid from {_relative(nbf, now)} (nbf {iso(nbf)})")
    if exp is not None:
        lines.append(f"{expiry_words(exp, now)} (exp {iso(exp)})")
        lines.append(f"lifetime {_lifetime_words(claims)}")
    elif "exp" in claims:
        lines.append(f"exp is not a Unix time: {json.dumps(claims['exp'])}")
    else:
        lines.append("no exp claim")
    return lines


def _relative(when: int, now: float) -> str:
    if abs(now - when) < 1:
        return "just now"
    return f"{duration(now - when)} ago" if when <= now else f"in {duration(when - now)}"


def duration(seconds: float) -> str:
    """``seconds`` in words: ``45 s``, ``54 min``, ``1 h 30 min``, ``3 h``, ``2 d``."""
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest and hours < 10 else f"{round(minutes / 60)} h"
    return f"{round(minutes / 1440)} d"


def iso(timestamp: int) -> str:
    """A Unix time as ISO 8601 UTC (``2025-01-01T12:00:00Z``), or the number if out of range."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)
