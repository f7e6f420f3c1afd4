"""Why a token was refused.

::

    BackchannelError
    └── TokenError                     every token failure; .code is Twilio's, .status 401
        ├── MalformedTokenError        20101  not a well-formed JWT, or a claim of the wrong type
        ├── InvalidHeaderError         20102  header is not exactly HS256 / JWT / twilio-fpa;v=1
        ├── InvalidIssuerError         20103  unknown key, or a subject not the key's account
        ├── TokenExpiredError          20104  exp has passed
        ├── TokenNotYetValidError      20105  nbf or iat lies in the future
        ├── InvalidGrantsError         20106  grants missing, mistyped, or without an identity
        ├── InvalidSignatureError      20107  HMAC does not match
        ├── LifetimeTooLongError       20157  exp is more than 24 h after nbf / iat / now
        └── MintError (also ValueError)       AccessToken refused to mint; .code names the rule
"""

from __future__ import annotations

from backchannel.errors import BackchannelError


class TokenError(BackchannelError):
    """A token could not be minted or was refused by the verifier."""

    code = 20101
    status = 401


class MalformedTokenError(TokenError):
    code = 20101


class InvalidHeaderError(TokenError):
    code = 20102


class InvalidIssuerError(TokenError):
    code = 20103


class TokenExpiredError(TokenError):
    code = 20104


class TokenNotYetValidError(TokenError):
    code = 20105


class InvalidGrantsError(TokenError):
    code = 20106


class InvalidSignatureError(TokenError):
    code = 20107


class LifetimeTooLongError(TokenError):
    code = 20157


class MintError(TokenError, ValueError):
    """``AccessToken`` refused to mint; the message says what to fix.

    It is also a ``ValueError``, which is what twilio-python raises for a bad grant, so token
    servers that catch that keep working.
    """

    status = 400
