"""The token server in process: cookies behind https, configuration, hashing, the limiter."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from backchannel.api import create_app
from backchannel.config import Config, ConfigError
from backchannel.store import Store, logins
from backchannel.tokens import TokenVerifier
from backchannel.tokenserver import COOKIE, create_standalone_app
from backchannel.tokenserver.limits import FailureLimiter
from backchannel.tokenserver.passwords import Passwords
from backchannel.tokenserver.users import add_user

from .support import FAST_PASSWORDS, PASSWORD, tokenserver_of

SIDS = {
    "twilio_account_sid": "AC" + "1" * 32,
    "twilio_api_key": "SK" + "2" * 32,
    "twilio_api_secret": "s3cret-of-the-key",
    "twilio_chat_service_sid": "IS" + "3" * 32,
}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(
        database_url=f"sqlite:///{tmp_path / 'auth.db'}",
        master_key=Fernet.generate_key().decode(),
        **SIDS,
    )


def with_user(config: Config, name: str = "alice", passwords: Passwords = FAST_PASSWORDS) -> None:
    async def run() -> None:
        store = Store.from_config(config)
        try:
            await store.migrate()
            await add_user(store, name, PASSWORD, passwords=passwords, clock=time.time)
        finally:
            await store.close()

    asyncio.run(run())


def cookie_attributes(response) -> set[str]:
    return {part.strip().lower() for part in response.headers["set-cookie"].split(";")[1:]}


def login(client: TestClient, name: str = "alice", password: str = PASSWORD):
    return client.post("/auth/login", json={"username": name, "password": password})


def test_the_cookie_is_secure_when_served_over_https(config):
    with_user(config)
    app = create_app(config)
    tokenserver_of(app).auth.passwords = FAST_PASSWORDS
    with TestClient(app, base_url="https://chat.example") as client:
        response = login(client)
        assert response.status_code == 200, response.text
        assert {"secure", "httponly", "samesite=lax", "path=/auth"} <= cookie_attributes(response)
        minted = client.post("/auth/token", headers={"X-CSRF-Token": response.json()["csrf_token"]})
        assert minted.status_code == 200
        assert TokenVerifier({}, clock=lambda: 0).claimed_issuer(minted.json()["token"]) == (
            SIDS["twilio_api_key"]
        )


@pytest.mark.parametrize(
    ("settings", "secure"),
    [
        ({"public_url": "https://chat.example"}, True),  # TLS ends at a proxy
        ({"secure_cookies": True}, True),
        ({"public_url": "https://chat.example", "secure_cookies": False}, False),
        ({}, False),
    ],
)
def test_the_cookie_is_secure_behind_an_https_proxy_or_when_told(config, settings, secure):
    config = dataclasses.replace(config, **settings)
    with_user(config)
    app = create_standalone_app(config, passwords=FAST_PASSWORDS)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = login(client)
        assert response.status_code == 200
        assert ("secure" in cookie_attributes(response)) is secure


def test_public_url_is_a_trusted_origin(config):
    config = dataclasses.replace(config, public_url="https://chat.example")
    with_user(config)
    app = create_standalone_app(config, passwords=FAST_PASSWORDS)
    with TestClient(app, base_url="http://10.0.0.5:8080") as client:
        # TLS ended at the proxy: the Host is the backend's, the Origin the public one
        response = client.post(
            "/auth/login",
            json={"username": "alice", "password": PASSWORD},
            headers={"Origin": "https://chat.example"},
        )
        assert response.status_code == 200
        evil = client.post(
            "/auth/login",
            json={"username": "alice", "password": PASSWORD},
            headers={"Origin": "https://chat.example.evil"},
        )
        assert evil.status_code == 403


def test_without_twilio_settings_the_token_endpoint_answers_503(config):
    config = dataclasses.replace(config, **dict.fromkeys(SIDS))
    with_user(config)
    with TestClient(create_standalone_app(config, passwords=FAST_PASSWORDS)) as client:
        csrf_token = login(client).json()["csrf_token"]
        response = client.post("/auth/token", headers={"X-CSRF-Token": csrf_token})
        assert response.status_code == 503
        assert response.json()["error"] == "not_configured"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"twilio_api_secret": None}, "TWILIO_API_SECRET is not set"),
        ({"twilio_chat_service_sid": "CH" + "0" * 32}, "TWILIO_CHAT_SERVICE_SID must be a SID"),
        ({"twilio_api_key": "AC" + "0" * 32}, "TWILIO_API_KEY must be a SID"),
        ({"chat_token_ttl": 86401}, "BACKCHANNEL_TOKENSERVER_TOKEN_TTL must be 1 to 86400"),
    ],
)
def test_half_given_or_malformed_settings_are_refused_at_start(config, settings, message):
    with pytest.raises(ConfigError, match=message):
        create_app(dataclasses.replace(config, **settings))


def test_config_reads_the_guides_variables_and_the_token_server_settings():
    env = {
        "TWILIO_ACCOUNT_SID": SIDS["twilio_account_sid"],
        "TWILIO_API_KEY": SIDS["twilio_api_key"],
        "TWILIO_API_SECRET": SIDS["twilio_api_secret"],
        "BACKCHANNEL_TOKENSERVER_TOKEN_TTL": "600",
        "BACKCHANNEL_TOKENSERVER_SECURE_COOKIES": "true",
    }
    config = Config.from_env(env, defaults={"TWILIO_CHAT_SERVICE_SID": "IS" + "3" * 32,
                                            "TWILIO_API_KEY": "ignored"})
    assert config.twilio_api_key == SIDS["twilio_api_key"]  # the environment wins
    assert config.twilio_chat_service_sid == "IS" + "3" * 32
    assert (config.chat_token_ttl, config.session_ttl, config.login_attempts) == (600, 28800, 5)
    assert config.secure_cookies is True
    assert SIDS["twilio_api_secret"] not in repr(config)
    with pytest.raises(ConfigError):
        Config.from_env({"BACKCHANNEL_TOKENSERVER_SECURE_COOKIES": "maybe"})


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash, password):
        self.verified.append(hash)
        return super().verify(hash, password)


def test_an_unknown_user_costs_one_argon2_verification_like_a_known_one(config):
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    with_user(config, passwords=passwords)
    with TestClient(create_standalone_app(config, passwords=passwords)) as client:
        assert login(client, "alice", "wrong password").status_code == 401
        assert login(client, "nobody", "wrong password").status_code == 401
        assert login(client, "nobody", "x" * 2000).status_code == 401  # too long: still one
    assert len(hasher.verified) == 3
    known, unknown, long = hasher.verified
    assert known != unknown == long
    assert unknown.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # the same parameters


def test_a_hash_with_old_parameters_is_upgraded_at_login(config):
    with_user(config, passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=512)))
    with TestClient(create_standalone_app(config, passwords=FAST_PASSWORDS)) as client:
        assert login(client).status_code == 200

    async def stored() -> str:
        store = Store.from_config(config)
        try:
            async with store.transaction() as conn:
                user = await logins.get_user(conn, "alice")
                assert user is not None
                return user.password_hash
        finally:
            await store.close()

    assert asyncio.run(stored()).startswith("$argon2id$v=19$m=1024,t=1,p=1$")


def test_sessions_end_after_their_lifetime(config):
    config = dataclasses.replace(config, session_ttl=60)
    with_user(config)
    clock = Clock(time.time())
    app = create_standalone_app(config, clock=clock, passwords=FAST_PASSWORDS)
    with TestClient(app) as client:
        assert login(client).status_code == 200
        clock.now += 59
        assert client.get("/auth/me").status_code == 200
        clock.now += 1
        assert client.get("/auth/me").status_code == 401
        assert COOKIE not in client.cookies  # cleared


def test_the_limiter_counts_failures_in_a_sliding_window():
    clock = Clock()
    limiter = FailureLimiter(3, 60, clock)
    keys = ("user:alice", "address:1.2.3.4")
    for _ in range(3):
        assert limiter.retry_after(keys) == 0
        limiter.record(keys)
        clock.now += 10
    assert limiter.retry_after(keys) == 30  # the first failure leaves the window at +60
    assert limiter.retry_after(["user:bob"]) == 0
    clock.now += 29.5
    assert limiter.retry_after(keys) == 1
    clock.now += 0.5
    assert limiter.retry_after(keys) == 0
    limiter.record(keys)
    limiter.undo("address:1.2.3.4")
    assert limiter.retry_after(["address:1.2.3.4"]) == 0
    assert limiter.retry_after(["user:alice"]) == 10  # failures at +10, +20, +60
    limiter.forget("user:alice")
    assert limiter.retry_after(["user:alice"]) == 0


def test_the_limiter_forgets_the_oldest_keys_beyond_its_bound():
    limiter = FailureLimiter(1, 60, Clock(), max_keys=3)
    for i in range(5):
        limiter.record([f"address:{i}"])
    assert [limiter.retry_after([f"address:{i}"]) for i in range(5)] == [0, 0, 60, 60, 60]


def test_the_standalone_app_serves_health_and_redirects_its_root(config):
    with TestClient(create_standalone_app(config, passwords=FAST_PASSWORDS)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        root = client.get("/", follow_redirects=False)
        assert root.status_code == 303 and root.headers["location"] == "/auth/"
