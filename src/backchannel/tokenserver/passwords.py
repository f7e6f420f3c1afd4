"""Passwords, hashed with argon2id (argon2-cffi's RFC 9106 defaults).

``verify`` takes the stored hash or None (no such user) and spends the same work either way: for
an unknown user it checks the password against a dummy hash made with the same parameters, so
the time of a response does not tell whether the user exists.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # bytes of UTF-8 beyond this are refused before any hashing


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not the password of anyone: there is no such user")


class Passwords:
    """Hashing and checking passwords with one ``PasswordHasher``."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or _DEFAULT

    def prepare(self) -> None:
        """Make the dummy hash now, so that no first login pays for it (and shows it)."""
        _dummy_hash(self.hasher)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored_hash``; always False when that is None."""
        try:
            self.hasher.verify(stored_hash or _dummy_hash(self.hasher), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


_DEFAULT = PasswordHasher()


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be set, or None when it can."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_LENGTH:
        return f"the password must be at most {MAX_PASSWORD_LENGTH} bytes"
    return None
