"""A strict HS256 JWT codec: compact serialization, canonical base64url, strict JSON.

``encode`` writes exactly what PyJWT writes for the same header and payload (sorted header keys,
compact separators). ``split`` undoes it and refuses anything a careful encoder would not have
produced: padding, whitespace, non-canonical base64, duplicate JSON keys, NaN or Infinity, JSON
that is not an object, bytes that are not UTF-8. It checks no signature and trusts no claim;
that is the verifier's job.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
from typing import Any

from backchannel.tokens.errors import MalformedTokenError

MAX_TOKEN_LENGTH = 8192

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_dumps_sorted = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_strict_json = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constants)


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"===", b"==", b"=")


def b64encode(raw: bytes) -> bytes:
    """base64url without padding."""
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def b64decode(segment: bytes) -> bytes:
    """Decode base64url without padding, refusing every non-canonical spelling."""
    try:
        raw = binascii.a2b_base64(segment.translate(_FROM_URLSAFE) + _PADDING[len(segment) % 4])
    except binascii.Error as exc:
        raise MalformedTokenError("a token segment is not base64url") from exc
    # Re-encoding catches padding, whitespace, foreign characters and set trailing bits at once.
    if b64encode(raw) != segment:
        raise MalformedTokenError("a token segment is not canonical unpadded base64url")
    return raw


def sign(signing_input: bytes, secret: bytes) -> bytes:
    return hmac.digest(secret, signing_input, hashlib.sha256)


def encode_header(header: dict[str, Any]) -> bytes:
    """The first segment for ``header`` (keys sorted, as PyJWT writes them)."""
    return b64encode(_dumps_sorted(header).encode())


def encode(header_segment: bytes, payload: dict[str, Any], secret: bytes) -> str:
    """Sign ``payload`` under an already-encoded header segment and return the compact JWT."""
    signing_input = header_segment + b"." + b64encode(_dumps(payload).encode())
    return (signing_input + b"." + b64encode(sign(signing_input, secret))).decode("ascii")


def parse_object(raw: bytes, what: str) -> dict[str, Any]:
    """Strict UTF-8 JSON object, or ``MalformedTokenError`` naming ``what``."""
    try:
        value = _strict_json.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedTokenError(f"the {what} is not a strict UTF-8 JSON object") from exc
    if not isinstance(value, dict):
        raise MalformedTokenError(f"the {what} is not a JSON object")
    return value


class Parts:
    """The three segments of a compact JWT, decoded but not yet trusted."""

    __slots__ = ("header_raw", "payload_raw", "signature", "signing_input")

    def __init__(self, token: str | bytes) -> None:
        if isinstance(token, str):
            try:
                data = token.encode("ascii")
            except UnicodeEncodeError as exc:
                raise MalformedTokenError("a token is ASCII only") from exc
        elif isinstance(token, bytes):
            data = token
        else:
            raise MalformedTokenError("a token must be a string")
        if len(data) > MAX_TOKEN_LENGTH:
            raise MalformedTokenError(f"a token is at most {MAX_TOKEN_LENGTH} bytes")
        segments = data.split(b".")
        if len(segments) != 3 or not all(segments):
            raise MalformedTokenError("a token is three non-empty segments joined by dots")
        self.signing_input = data[: len(segments[0]) + 1 + len(segments[1])]
        self.header_raw = b64decode(segments[0])
        self.payload_raw = b64decode(segments[1])
        self.signature = b64decode(segments[2])

    def signature_matches(self, secret: bytes) -> bool:
        """Constant-time comparison of the signature with the HMAC under ``secret``.

        A signature of the wrong length simply does not match.
        """
        return hmac.compare_digest(sign(self.signing_input, secret), self.signature)
