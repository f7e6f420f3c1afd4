"""What an identity may be: the rules shared by minting and verification."""

from __future__ import annotations

import re

MAX_IDENTITY_LENGTH = 256

# C0 and C1 controls, DEL, and lone surrogates (which no UTF-8 encoder accepts).
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Reserved URI characters; the access-token guide recommends avoiding them in identities.
_RESERVED = re.compile(r"[!*'();:@&=+$,/?%#\[\]]")


def identity_problem(identity: object) -> str | None:
    """Why ``identity`` cannot be used, or None when it can."""
    if not isinstance(identity, str) or not identity:
        return "identity must be a non-empty string"
    if len(identity) > MAX_IDENTITY_LENGTH:
        return f"identity must be at most {MAX_IDENTITY_LENGTH} characters, not {len(identity)}"
    if _FORBIDDEN.search(identity):
        return "identity must not contain control characters or lone surrogates"
    return None


def has_reserved_characters(identity: str) -> bool:
    """True when ``identity`` holds a reserved URI character such as ``@`` or ``/``."""
    return _RESERVED.search(identity) is not None
