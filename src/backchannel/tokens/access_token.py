"""Minting Access Tokens: twilio-python's ``AccessToken``, with its rules enforced up front."""

from __future__ import annotations

import re
import secrets
import time
import warnings
from typing import Any

from backchannel.tokens import codec, sids
from backchannel.tokens.errors import MintError
from backchannel.tokens.grants import AccessTokenGrant, payload_problem
from backchannel.tokens.identity import has_reserved_characters, identity_problem

MAX_TTL = 86400  # seconds: Twilio refuses Access Tokens that live longer than 24 h
CONTENT_TYPE = "twilio-fpa;v=1"
REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")

_GENERATE: Any = object()  # "now", as twilio-python's Jwt.GENERATE


class IdentityWarning(UserWarning):
    """The identity holds characters the access-token guide recommends avoiding."""


_header_segments: dict[str | None, bytes] = {}


def _header_segment(region: str | None) -> bytes:
    segment = _header_segments.get(region)
    if segment is None:
        header = {"alg": "HS256", "typ": "JWT", "cty": CONTENT_TYPE}
        if region:
            header["twr"] = region
        segment = _header_segments[region] = codec.encode_header(header)
    return segment


class AccessToken:
    """An Access Token, built like twilio-python's ``twilio.jwt.access_token.AccessToken``.

    Same arguments, same meaning, same JWT: ``nbf`` defaults to now (``None`` leaves it out),
    ``exp`` is now + ``ttl`` unless ``valid_until`` is given. ``to_jwt`` refuses, with a
    ``MintError`` that says what to fix, anything Twilio or the verifier would reject.
    """

    GENERATE = _GENERATE
    ALGORITHM = "HS256"

    def __init__(
        self,
        account_sid: str,
        signing_key_sid: str,
        secret: str | bytes,
        grants: list[AccessTokenGrant] | None = None,
        identity: str | None = None,
        nbf: int | None = _GENERATE,
        ttl: int = 3600,
        valid_until: int | None = None,
        region: str | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.signing_key_sid = signing_key_sid
        self.secret = secret
        self.grants: list[AccessTokenGrant] = []
        for grant in grants or []:
            self.add_grant(grant)
        self.identity = identity
        self.nbf = nbf
        self.ttl = ttl
        self.valid_until = valid_until
        self.region = region

    def add_grant(self, grant: AccessTokenGrant) -> None:
        """Add a grant: any object with a string ``key`` and a ``to_payload()`` method."""
        if not isinstance(getattr(grant, "key", None), str) or not callable(
            getattr(grant, "to_payload", None)
        ):
            raise MintError("a grant must have a key and a to_payload() method")
        self.grants.append(grant)

    def to_jwt(self, ttl: int | None = None) -> str:
        """The signed JWT; ``ttl`` overrides the lifetime given to the constructor."""
        now = int(time.time())
        self._check_sids()
        signer = codec.signer_for(self._secret())
        nbf = now if self.nbf is _GENERATE else self.nbf
        exp = self._expiry(now, nbf, ttl)
        payload: dict[str, Any] = {
            "jti": f"{self.signing_key_sid}-{now if nbf is None else nbf}-{secrets.token_hex(8)}",
            "grants": self._grants_claim(),
            "iss": self.signing_key_sid,
            "exp": exp,
        }
        if nbf is not None:
            payload["nbf"] = nbf
        payload["sub"] = self.account_sid
        try:
            payload_json = codec.dumps(payload)
        except (TypeError, ValueError, RecursionError) as exc:
            raise MintError(f"a grant's payload is not JSON: {exc}", code=20106) from exc
        return codec.encode(_header_segment(self._region()), payload_json, signer)

    def _secret(self) -> bytes:
        secret = self.secret
        if isinstance(secret, str):
            secret = secret.encode()
        if not isinstance(secret, bytes) or not secret:
            raise MintError("the API key secret is empty: pass the secret of the signing key")
        return secret

    def _expiry(self, now: int, nbf: int | None, ttl: int | None) -> int:
        """``exp`` as twilio-python sets it: ``valid_until``, unless a ``ttl`` is passed to
        ``to_jwt``; else now + ttl. The token must then live at most 24 h from nbf (or now)."""
        if nbf is not None and (not isinstance(nbf, int) or isinstance(nbf, bool)):
            raise MintError("nbf must be a Unix time in whole seconds")
        if ttl is None and self.valid_until is not None:
            exp, source = self.valid_until, "valid_until"
            if not isinstance(exp, int) or isinstance(exp, bool):
                raise MintError("valid_until must be a Unix time in whole seconds")
        else:
            ttl = self.ttl if ttl is None else ttl
            if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
                raise MintError(f"ttl must be a positive number of seconds, not {ttl!r}")
            if ttl > MAX_TTL:
                raise MintError(f"ttl is {ttl} s; the maximum is {MAX_TTL} s (24 h)", code=20157)
            exp, source = now + ttl, "now + ttl"
        start = now if nbf is None else nbf
        if exp <= start:
            raise MintError(f"{source} is not after nbf: the token would never be valid")
        if exp - start > MAX_TTL:
            raise MintError(
                f"{source} is {exp - start} s after nbf; the maximum is {MAX_TTL} s (24 h)",
                code=20157,
            )
        return exp

    def _grants_claim(self) -> dict[str, Any]:
        claim: dict[str, Any] = {}
        for grant in self.grants:
            payload = grant.to_payload()
            problem = payload_problem(grant.key, payload)
            if problem:
                raise MintError(problem, code=20106)
            claim[grant.key] = payload
        if self.identity or "chat" in claim:
            problem = identity_problem(self.identity)
            if self.identity is None:
                problem = "a chat grant needs an identity: pass identity= to AccessToken"
            if problem:
                raise MintError(problem, code=20106)
            assert isinstance(self.identity, str)
            if has_reserved_characters(self.identity):
                warnings.warn(
                    f"identity {self.identity!r} holds reserved URI characters; "
                    "the access-token guide recommends avoiding them",
                    IdentityWarning,
                    stacklevel=3,
                )
            claim["identity"] = self.identity
        return claim

    def _check_sids(self) -> None:
        if not sids.is_sid(self.account_sid, sids.ACCOUNT):
            raise MintError(
                f"account_sid must be an Account SID (AC and 32 hex digits), "
                f"not {self.account_sid!r}",
                code=20103,
            )
        if not sids.is_sid(self.signing_key_sid, sids.API_KEY):
            raise MintError(
                f"signing_key_sid must be an API Key SID (SK and 32 hex digits), "
                f"not {self.signing_key_sid!r}",
                code=20103,
            )

    def _region(self) -> str | None:
        if not self.region:
            return None
        if not isinstance(self.region, str) or not REGION.fullmatch(self.region):
            raise MintError(f"region must be a region name such as 'us1', not {self.region!r}")
        return self.region

    def __str__(self) -> str:
        return f"<AccessToken {self.to_jwt()}>"
