"""Twilio-compatible Access Tokens: mint them, and verify them strictly.

Standard library only. ``AccessToken`` and the grants in ``backchannel.tokens.grants`` take the
same arguments as twilio-python's, so a token server switches by changing its imports.
"""

from backchannel.tokens.access_token import MAX_TTL, AccessToken, IdentityWarning
from backchannel.tokens.errors import (
    InvalidGrantsError,
    InvalidHeaderError,
    InvalidIssuerError,
    InvalidSignatureError,
    LifetimeTooLongError,
    MalformedTokenError,
    MintError,
    TokenError,
    TokenExpiredError,
    TokenNotYetValidError,
)
from backchannel.tokens.verifier import SigningKey, TokenVerifier, VerifiedToken

__all__ = [
    "MAX_TTL",
    "AccessToken",
    "IdentityWarning",
    "InvalidGrantsError",
    "InvalidHeaderError",
    "InvalidIssuerError",
    "InvalidSignatureError",
    "LifetimeTooLongError",
    "MalformedTokenError",
    "MintError",
    "SigningKey",
    "TokenError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenVerifier",
    "VerifiedToken",
]
