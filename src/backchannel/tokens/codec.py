"""A strict HS256 JWT codec: compact serialization, canonical base64url, strict JSON.

``encode`` writes what PyJWT writes for the same header and payload (sorted header keys, compact
separators). ``split`` undoes it and refuses anything a careful encoder would not have produced:
padding, whitespace, non-canonical base64, duplicate JSON keys, NaN or Infinity, JSON that is
not an object, bytes that are not UTF-8. It checks no signature and trusts no claim; that is the
verifier's job.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from backchannel.tokens.errors import MalformedTokenError

MAX_TOKEN_LENGTH = 8192

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


def _refuse(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def _compact_encoder(sort_keys: bool) -> Callable[[object], str]:
    try:
        # The C encoder, built once: json.dumps builds a new one on every call.
        from json.encoder import (  # type: ignore[attr-defined]
            c_make_encoder,
            encode_basestring_ascii,
        )
    except ImportError:  # pragma: no cover - CPython always has it
        encode = json.JSONEncoder(separators=(",", ":"), sort_keys=sort_keys).encode
        return lambda obj: encode(obj)
    make = c_make_encoder(
        None, _refuse, encode_basestring_ascii, None, ":", ",", sort_keys, False, False
    )
    return lambda obj: "".join(make(obj, 0))


dumps = _compact_encoder(sort_keys=False)
"""Compact JSON, ASCII only, no NaN: what PyJWT writes."""
_dumps_sorted = _compact_encoder(sort_keys=True)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The decoder's C scanner, called directly: JSONDecoder.decode adds a Python layer per call.
_scan = json.JSONDecoder(  # type: ignore[attr-defined]
    object_pairs_hook=_unique_keys, parse_constant=_no_constants
).scan_once


def parse_object(raw: bytes, what: str) -> dict[str, Any]:
    """A strict UTF-8 JSON object, or ``MalformedTokenError`` naming ``what``.

    Whitespace around the object is refused too: no encoder of tokens writes it.
    """
    try:
        text = raw.decode("utf-8")
        value, end = _scan(text, 0)
    except (UnicodeDecodeError, ValueError, StopIteration, RecursionError) as exc:
        raise MalformedTokenError(f"the {what} is not a strict UTF-8 JSON object") from exc
    if end != len(text) or not isinstance(value, dict):
        raise MalformedTokenError(f"the {what} is not a JSON object")
    return value


def encode_header(header: dict[str, Any]) -> bytes:
    """The first segment for ``header`` (keys sorted, as PyJWT writes them)."""
    return b64encode(_dumps_sorted(header).encode())


_BLOCK = 64  # bytes of a SHA-256 block
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


class Signer:
    """HMAC-SHA256 (RFC 2104) under one secret, with the padded key hashed once.

    Signing copies the two prepared SHA-256 states instead of setting the key up again: the
    same result as ``hmac.digest``, in a third of the time.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: bytes) -> None:
        if len(secret) > _BLOCK:
            secret = hashlib.sha256(secret).digest()
        secret = secret.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(secret.translate(_IPAD))
        self._outer = hashlib.sha256(secret.translate(_OPAD))

    def sign(self, signing_input: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(signing_input)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Constant-time; a signature of the wrong length simply does not match."""
        return hmac.compare_digest(self.sign(signing_input), signature)


@functools.lru_cache(maxsize=256)
def signer_for(secret: bytes) -> Signer:
    """The ``Signer`` of ``secret``, shared: a server signs and checks with few keys."""
    return Signer(secret)


def encode(header_segment: bytes, payload_json: str, signer: Signer) -> str:
    """The compact JWT of an encoded header segment and a payload already serialized."""
    signing_input = header_segment + b"." + b64encode(payload_json.encode())
    return (signing_input + b"." + b64encode(signer.sign(signing_input))).decode("ascii")


def split(token: str | bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """``(signing_input, header, payload, signature)``: the still-encoded segments of a JWT."""
    if isinstance(token, str):
        if not token.isascii():
            raise MalformedTokenError("a token is ASCII only")
        data = token.encode("ascii")
    elif isinstance(token, bytes):
        data = token
    else:
        raise MalformedTokenError("a token must be a string")
    if len(data) > MAX_TOKEN_LENGTH:
        raise MalformedTokenError(f"a token is at most {MAX_TOKEN_LENGTH} bytes")
    segments = data.split(b".")
    if len(segments) != 3 or not all(segments):
        raise MalformedTokenError("a token is three non-empty segments joined by dots")
    header, payload, signature = segments
    return data[: len(header) + 1 + len(payload)], header, payload, signature
