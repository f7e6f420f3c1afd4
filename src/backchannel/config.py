"""Every setting of the service, in one frozen ``Config``; the only reader of the environment.

``Config(...)`` takes each setting as a keyword with a default; ``Config.from_env()`` reads the
``BACKCHANNEL_*`` variables. Database URLs are accepted in their plain forms (``sqlite:///path``,
``postgresql://…``) and translated to the async drivers. The master key encrypts API key secrets
at rest; without one in the environment it lives in a key file created with mode 0600.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography.fernet import Fernet

from backchannel.errors import BackchannelError

DEFAULT_DATABASE_URL = "sqlite:///./backchannel.db"
N = TypeVar("N", int, float)


class ConfigError(BackchannelError):
    """A setting is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Config:
    """The settings of one Backchannel process. ``master_key`` is a Fernet key (url-safe base64)."""

    database_url: str = DEFAULT_DATABASE_URL
    master_key: str | None = None
    master_key_file: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    sql_echo: bool = False
    broker_url: str | None = None  # None: in-process; redis://… to fan out across nodes
    request_rate: float = 100.0  # live requests a session may send per second …
    request_burst: int = 200  # … in bursts of this many
    # The token server ("your backend"): what it mints with, under the access-token guide's names.
    twilio_account_sid: str | None = None
    twilio_api_key: str | None = None
    twilio_api_secret: str | None = None
    twilio_chat_service_sid: str | None = None
    chat_token_ttl: int = 3600  # seconds a minted chat token lives (at most 86400)
    session_ttl: int = 28800  # seconds a login session lives
    login_attempts: int = 5  # failed logins allowed per username and per address …
    login_window: float = 60.0  # … in this many seconds; then 429
    secure_cookies: bool | None = None  # None: Secure when the request or public_url is https

    def __repr__(self) -> str:  # never show the master key
        return (
            f"Config(database_url={self.database_url!r}, host={self.host!r}, port={self.port!r}, "
            f"public_url={self.public_url!r}, broker_url={self.broker_url!r})"
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, defaults: Mapping[str, str] | None = None
    ) -> Config:
        """The settings in ``environ`` (default: the process environment); ``defaults`` (such as
        the lines of an env file) fill in the variables it lacks."""
        env = os.environ if environ is None else environ
        if defaults:
            env = {**defaults, **env}
        return cls(
            database_url=env.get("BACKCHANNEL_DATABASE_URL", DEFAULT_DATABASE_URL),
            master_key=env.get("BACKCHANNEL_MASTER_KEY") or None,
            master_key_file=env.get("BACKCHANNEL_MASTER_KEY_FILE") or None,
            host=env.get("BACKCHANNEL_HOST", "127.0.0.1"),
            port=_number(env, "BACKCHANNEL_PORT", "8080", int),
            public_url=env.get("BACKCHANNEL_PUBLIC_URL") or None,
            broker_url=env.get("BACKCHANNEL_BROKER_URL") or None,
            request_rate=_number(env, "BACKCHANNEL_REQUEST_RATE", "100", float),
            request_burst=_number(env, "BACKCHANNEL_REQUEST_BURST", "200", int),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_api_key=env.get("TWILIO_API_KEY") or None,
            twilio_api_secret=env.get("TWILIO_API_SECRET") or None,
            twilio_chat_service_sid=env.get("TWILIO_CHAT_SERVICE_SID") or None,
            chat_token_ttl=_number(env, "BACKCHANNEL_TOKENSERVER_TOKEN_TTL", "3600", int),
            session_ttl=_number(env, "BACKCHANNEL_TOKENSERVER_SESSION_TTL", "28800", int),
            login_attempts=_number(env, "BACKCHANNEL_TOKENSERVER_LOGIN_ATTEMPTS", "5", int),
            login_window=_number(env, "BACKCHANNEL_TOKENSERVER_LOGIN_WINDOW", "60", float),
            secure_cookies=_tristate(env, "BACKCHANNEL_TOKENSERVER_SECURE_COOKIES"),
        )

    @property
    def async_database_url(self) -> str:
        """The database URL with the async driver SQLAlchemy needs."""
        return async_url(self.database_url)

    def key_file_path(self) -> Path:
        """Where the master key is kept when it is not given directly."""
        if self.master_key_file:
            return Path(self.master_key_file)
        path = sqlite_path(self.database_url)
        if path is not None and path != ":memory:":
            return Path(path).parent / "backchannel.key"
        return Path("backchannel.key")

    def load_master_key(self) -> bytes:
        """The master key; the key file is created (mode 0600) on first use."""
        if self.master_key:
            return _checked_key(self.master_key.encode(), "BACKCHANNEL_MASTER_KEY")
        path = self.key_file_path()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _checked_key(path.read_bytes().strip(), str(path))
        with os.fdopen(fd, "wb") as file:
            key = Fernet.generate_key()
            file.write(key + b"\n")
        return key


def _number(env: Mapping[str, str], name: str, default: str, kind: type[N]) -> N:
    text = env.get(name, default)
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, not {text!r}")
    return value


def _tristate(env: Mapping[str, str], name: str) -> bool | None:
    text = env.get(name, "auto").strip().lower()
    choices = {"auto": None, "": None, "true": True, "1": True, "false": False, "0": False}
    if text not in choices:
        raise ConfigError(f"{name} must be auto, true or false, not {text!r}")
    return choices[text]


def _checked_key(key: bytes, source: str) -> bytes:
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(
            f"the master key in {source} must be 32 url-safe base64-encoded bytes"
        ) from None
    return key


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite://`` URL, or None for other databases."""
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix):
            return url[len(prefix):] or ":memory:"
    return None


def async_url(url: str) -> str:
    """``sqlite:///…`` → ``sqlite+aiosqlite:///…``; ``postgresql://…`` → ``postgresql+asyncpg://…``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"the database URL {url!r} has no scheme")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise ConfigError(f"unsupported database {scheme!r}: use sqlite:/// or postgresql://")
