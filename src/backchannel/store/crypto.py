"""Secrets at rest: API key secrets encrypted with the master key, auth tokens hashed.

The Fernet token of a secret and the hash of an auth token never leave the store; neither has
a readable ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from cryptography.fernet import Fernet, InvalidToken

from backchannel.errors import BackchannelError

_ALPHANUMERIC = string.ascii_letters + string.digits


class SecretDecryptionError(BackchannelError):
    """A stored secret cannot be decrypted: the master key is not the one it was stored with."""

    code = 20500
    status = 500


class SecretBox:
    """Encrypts and decrypts API key secrets with the master key (Fernet: AES-128-CBC + HMAC)."""

    def __init__(self, master_key: bytes) -> None:
        self._fernet = Fernet(master_key)

    def __repr__(self) -> str:
        return "SecretBox(<master key>)"

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, stored: bytes) -> str:
        try:
            return self._fernet.decrypt(stored).decode()
        except InvalidToken:
            raise SecretDecryptionError(
                "an API key secret cannot be decrypted with this master key"
            ) from None


def new_auth_token() -> str:
    """32 hex digits, like Twilio's auth tokens."""
    return secrets.token_hex(16)


def new_key_secret() -> str:
    """32 letters and digits, like Twilio's API key secrets."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


def hash_token(token: str) -> str:
    # The tokens are 128 random bits, so a plain hash is as strong as a slow one would be.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
