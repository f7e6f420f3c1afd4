"""Minting the chat token: the access-token guide's step 2, with the settings of ``Config``.

The credentials are the guide's variables (``TWILIO_ACCOUNT_SID``, ``TWILIO_API_KEY``,
``TWILIO_API_SECRET``, ``TWILIO_CHAT_SERVICE_SID``); the lifetime is ``chat_token_ttl``.
``Minter.from_config`` refuses, at start, a half-given or malformed set.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backchannel.config import Config, ConfigError
from backchannel.tokens import MAX_TTL, AccessToken, IdentityWarning
from backchannel.tokens.grants import ChatGrant
from backchannel.tokens.sids import ACCOUNT, API_KEY, SERVICE, is_sid

_VARIABLES = {
    "twilio_account_sid": ("TWILIO_ACCOUNT_SID", ACCOUNT),
    "twilio_api_key": ("TWILIO_API_KEY", API_KEY),
    "twilio_api_secret": ("TWILIO_API_SECRET", None),
    "twilio_chat_service_sid": ("TWILIO_CHAT_SERVICE_SID", SERVICE),
}


def iso(unix_time: int) -> str:
    return datetime.fromtimestamp(unix_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Minter:
    account_sid: str
    api_key: str
    api_secret: str
    service_sid: str
    ttl: int = 3600

    def __repr__(self) -> str:  # never show the secret
        return f"Minter(account_sid={self.account_sid!r}, service_sid={self.service_sid!r})"

    @classmethod
    def from_config(cls, config: Config) -> Minter | None:
        """The minter, or None when none of the four variables is set."""
        if not 0 < config.chat_token_ttl <= MAX_TTL:
            raise ConfigError(
                f"BACKCHANNEL_TOKENSERVER_TOKEN_TTL must be 1 to {MAX_TTL} s, "
                f"not {config.chat_token_ttl}"
            )
        values = {field: getattr(config, field) for field in _VARIABLES}
        if not any(values.values()):
            return None
        for field, (variable, prefix) in _VARIABLES.items():
            value = values[field]
            if not value:
                given = ", ".join(_VARIABLES[f][0] for f, v in values.items() if v)
                raise ConfigError(f"{variable} is not set (the token server has {given})")
            if prefix and not is_sid(value, prefix):
                raise ConfigError(f"{variable} must be a SID starting with {prefix}, not {value!r}")
        return cls(
            values["twilio_account_sid"],
            values["twilio_api_key"],
            values["twilio_api_secret"],
            values["twilio_chat_service_sid"],
            config.chat_token_ttl,
        )

    def mint(self, identity: str, now: int) -> dict[str, Any]:
        """The JSON of ``POST /token``: the same fields as ``backchannel token chat --json``."""
        expires = now + self.ttl
        token = AccessToken(
            self.account_sid,
            self.api_key,
            self.api_secret,
            identity=identity,
            nbf=now,
            valid_until=expires,
        )
        token.add_grant(ChatGrant(service_sid=self.service_sid))
        with warnings.catch_warnings():
            # Usernames may be e-mail addresses; '@' is legal in an identity, merely discouraged.
            warnings.simplefilter("ignore", IdentityWarning)
            jwt = token.to_jwt()
        return {
            "token": jwt,
            "identity": identity,
            "service_sid": self.service_sid,
            "expires_at": iso(expires),
            "expires_at_epoch": expires,
            "ttl": self.ttl,
        }
