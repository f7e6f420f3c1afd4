"""Verifying Access Tokens: strict, signature first, every failure a Twilio error code.

The order is fixed: shape (20101), header (20102), issuer key (20103), signature (20107); only
then are claims read: subject (20103), types (20101), times (20104, 20105, 20157), grants (20106).
No argument or setting skips the signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from backchannel.tokens import codec, sids
from backchannel.tokens.access_token import CONTENT_TYPE, MAX_TTL, REGION
from backchannel.tokens.errors import (
    InvalidGrantsError,
    InvalidHeaderError,
    InvalidIssuerError,
    InvalidSignatureError,
    LifetimeTooLongError,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
)
from backchannel.tokens.identity import identity_problem

_HEADER_FIELDS = frozenset({"alg", "typ", "cty", "twr"})
_MAX_CACHED_HEADERS = 64
_MAX_TIME = 2**53  # beyond any real Unix time; keeps arithmetic on claims exact


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The secret of an API key and the account it belongs to."""

    secret: str | bytes
    account_sid: str

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("an API key secret must not be empty")

    def secret_bytes(self) -> bytes:
        return self.secret.encode() if isinstance(self.secret, str) else self.secret

    def __repr__(self) -> str:  # never show the secret
        return f"SigningKey(account_sid={self.account_sid!r})"


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What a token proved. ``service_sid`` is the chat grant's, or None without one."""

    identity: str
    account_sid: str
    key_sid: str
    service_sid: str | None
    grants: Mapping[str, Any]
    expires_at: int
    not_before: int | None
    issued_at: int | None
    jti: str | None
    region: str | None


KeyLookup = Mapping[str, SigningKey] | Callable[[str], SigningKey | None]


def _int_claim(payload: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = payload.get(name)
    if value is None and name not in payload and not required:
        return None
    if type(value) is not int or not 0 <= value < _MAX_TIME:
        raise MalformedTokenError(f"the {name} claim must be a whole number of seconds")
    return value


class TokenVerifier:
    """Verifies Access Tokens against a set of API keys.

    ``keys`` maps an API Key SID to its ``SigningKey``, or is a callable that returns the key for
    a SID (None when there is none). ``leeway`` seconds of clock skew are allowed on ``exp``,
    ``nbf`` and ``iat``; ``max_ttl`` caps a token's lifetime; ``clock`` returns Unix time.
    """

    def __init__(
        self,
        keys: KeyLookup,
        *,
        leeway: int = 60,
        max_ttl: int = MAX_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lookup: Callable[[str], SigningKey | None] = keys if callable(keys) else keys.get
        self.leeway = leeway
        self.max_ttl = max_ttl
        self.clock = clock
        # Every token a library mints under one region has the same header segment.
        self._valid_headers: dict[bytes, str | None] = {}

    def verify(self, token: str | bytes) -> VerifiedToken:
        """The verified token, or a ``TokenError`` subclass naming the first check that failed."""
        signing_input, header, payload_segment, signature = codec.split(token)
        region = self._region_of(header)
        payload = codec.parse_object(codec.b64decode(payload_segment), "payload")

        key_sid = payload.get("iss")
        if not sids.is_sid(key_sid, sids.API_KEY) or (key := self._lookup(key_sid)) is None:
            raise InvalidIssuerError("the token's issuer is not a known API key")
        signer = codec.signer_for(key.secret_bytes())
        if not signer.verify(signing_input, codec.b64decode(signature)):
            raise InvalidSignatureError("the token's signature does not match its API key")
        # From here on the payload is authentic.
        account_sid = payload.get("sub")
        if account_sid != key.account_sid:
            raise InvalidIssuerError("the token's subject is not the account of its API key")
        jti = payload.get("jti")
        if jti is not None and not isinstance(jti, str):
            raise MalformedTokenError("the jti claim must be a string")

        expires_at, not_before, issued_at = self._check_times(payload)
        grants = payload.get("grants")
        identity, service_sid = self._check_grants(grants)
        assert isinstance(grants, dict)
        return VerifiedToken(
            identity=identity,
            account_sid=key.account_sid,
            key_sid=key_sid,
            service_sid=service_sid,
            grants=MappingProxyType(grants),
            expires_at=expires_at,
            not_before=not_before,
            issued_at=issued_at,
            jti=jti,
            region=region,
        )

    def _region_of(self, segment: bytes) -> str | None:
        """The region of a valid header segment; segments already seen are not parsed again."""
        try:
            return self._valid_headers[segment]
        except KeyError:
            pass
        region = self._check_header(codec.parse_object(codec.b64decode(segment), "header"))
        if len(self._valid_headers) < _MAX_CACHED_HEADERS:
            self._valid_headers[segment] = region
        return region

    @staticmethod
    def claimed_issuer(token: str | bytes) -> str:
        """The API Key SID a token names as its issuer, before anything about it is trusted.

        For stores that must fetch the key before verifying; ``verify`` still checks everything.
        Raises the ``TokenError`` that ``verify`` would raise for a malformed token or issuer.
        """
        payload = codec.parse_object(codec.b64decode(codec.split(token)[2]), "payload")
        issuer = payload.get("iss")
        if not sids.is_sid(issuer, sids.API_KEY):
            raise InvalidIssuerError("the token's issuer is not a known API key")
        return issuer

    @staticmethod
    def _check_header(header: dict[str, Any]) -> str | None:
        if header.get("alg") != "HS256":
            raise InvalidHeaderError("the token's alg must be HS256")
        if header.get("typ") != "JWT":
            raise InvalidHeaderError("the token's typ must be JWT")
        if header.get("cty") != CONTENT_TYPE:
            raise InvalidHeaderError(f"the token's cty must be {CONTENT_TYPE}")
        if not _HEADER_FIELDS.issuperset(header):
            raise InvalidHeaderError("the token's header has parameters beyond alg, typ, cty, twr")
        region = header.get("twr")
        if "twr" in header and not (isinstance(region, str) and REGION.fullmatch(region)):
            raise InvalidHeaderError("the token's twr must be a region name")
        return region

    def _check_times(self, payload: dict[str, Any]) -> tuple[int, int | None, int | None]:
        exp = _int_claim(payload, "exp", required=True)
        nbf = _int_claim(payload, "nbf")
        iat = _int_claim(payload, "iat")
        assert exp is not None
        now = self.clock()
        if exp <= now - self.leeway:
            raise TokenExpiredError("the token has expired")
        if nbf is not None and nbf > now + self.leeway:
            raise TokenNotYetValidError("the token is not valid yet (nbf is in the future)")
        if iat is not None and iat > now + self.leeway:
            raise TokenNotYetValidError("the token was issued in the future (iat)")
        start = nbf if nbf is not None else iat if iat is not None else now
        if exp - start > self.max_ttl:
            raise LifetimeTooLongError(
                f"the token lives {int(exp - start)} s; the maximum is {self.max_ttl} s"
            )
        return exp, nbf, iat

    @staticmethod
    def _check_grants(grants: object) -> tuple[str, str | None]:
        if not isinstance(grants, dict):
            raise InvalidGrantsError("the token has no grants object")
        identity = grants.get("identity")
        problem = identity_problem(identity)
        if problem:
            raise InvalidGrantsError(f"the token's {problem}")
        assert isinstance(identity, str)
        if "chat" not in grants:
            return identity, None
        chat = grants["chat"]
        service_sid = chat.get("service_sid") if isinstance(chat, dict) else None
        if not sids.is_sid(service_sid, sids.SERVICE):
            raise InvalidGrantsError("the token's chat grant needs a Chat Service SID (IS…)")
        assert isinstance(service_sid, str)
        return identity, service_sid
