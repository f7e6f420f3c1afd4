"""docs/token-server.md's Flask, FastAPI and Django snippets: included verbatim, and working.

Each example is imported from docs/examples/ as it is, logged into the framework's own way, and
its token verified with ``backchannel.tokens.TokenVerifier``.
"""

from __future__ import annotations

import importlib.util
import secrets
import string
import sys
from pathlib import Path
from types import ModuleType

import pytest

from backchannel.tokens import SigningKey, TokenVerifier

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
NAMES = ("flask_app", "fastapi_app", "django_app")
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_API_KEY": "SK" + "b2" * 16,
    "TWILIO_API_SECRET": "the secret of the example key",
    "TWILIO_CHAT_SERVICE_SID": "IS" + "c3" * 16,
}


def load(name: str) -> ModuleType:
    module_name = f"backchannel_docs_{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def verifier(monkeypatch) -> TokenVerifier:
    for name, value in TWILIO.items():
        monkeypatch.setenv(name, value)
    key = SigningKey(TWILIO["TWILIO_API_SECRET"], TWILIO["TWILIO_ACCOUNT_SID"])
    return TokenVerifier({TWILIO["TWILIO_API_KEY"]: key})


def check(verifier: TokenVerifier, body: dict[str, str], identity: str) -> None:
    verified = verifier.verify(body["token"])
    assert verified.identity == body["identity"] == identity
    assert verified.service_sid == TWILIO["TWILIO_CHAT_SERVICE_SID"]
    assert verified.account_sid == TWILIO["TWILIO_ACCOUNT_SID"]
    assert verified.expires_at - verified.not_before == 3600


@pytest.mark.parametrize("name", NAMES)
def test_the_doc_includes_each_example_verbatim(name):
    doc = (ROOT / "docs" / "token-server.md").read_text()
    text = (EXAMPLES / f"{name}.py").read_text()
    assert f"`docs/examples/{name}.py`\n" in doc
    assert f"```python\n{text}```\n" in doc


def test_flask_example_mints_for_the_logged_in_user(verifier, monkeypatch):
    monkeypatch.setenv("FLASK_SECRET_KEY", secrets.token_hex(16))
    app = load("flask_app").app
    client = app.test_client()
    anonymous = client.post("/token")
    assert anonymous.status_code == 401
    assert anonymous.json == {"error": "unauthenticated"}
    with client.session_transaction() as session:  # what the app's own login view does
        session["username"] = "alice"
    response = client.post("/token")
    assert response.status_code == 200
    check(verifier, response.json, "alice")


def test_fastapi_example_mints_for_the_authenticated_user(verifier):
    from fastapi.testclient import TestClient

    module = load("fastapi_app")
    module.API_TOKENS["token-of-bob"] = "bob"
    with TestClient(module.app) as client:
        assert client.post("/token").status_code == 401
        wrong = client.post("/token", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        response = client.post("/token", headers={"Authorization": "Bearer token-of-bob"})
        assert response.status_code == 200, response.text
        check(verifier, response.json(), "bob")
        # "replace it with your own dependency"
        module.app.dependency_overrides[module.current_user] = lambda: "carol"
        try:
            check(verifier, client.post("/token").json(), "carol")
        finally:
            module.app.dependency_overrides.clear()


@pytest.fixture(scope="module")
def django_app() -> ModuleType:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY=secrets.token_hex(32),
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF="backchannel_docs_django_app",
            INSTALLED_APPS=[
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "django.contrib.sessions",
            ],
            MIDDLEWARE=[
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
            ],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # tests only
            USE_TZ=True,
        )
        django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return load("django_app")


def test_django_example_mints_for_the_logged_in_user_behind_csrf(verifier, django_app):
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_user(f"dana-{secrets.token_hex(4)}", password=None)
    client = Client(enforce_csrf_checks=True)
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    client.cookies["csrftoken"] = csrf
    assert client.post("/token", headers={"X-CSRFToken": csrf}).status_code == 401
    client.force_login(user)
    assert client.post("/token").status_code == 403  # no CSRF token: Django's middleware
    assert client.get("/token").status_code == 405
    response = client.post("/token", headers={"X-CSRFToken": csrf})
    assert response.status_code == 200, response.content
    check(verifier, response.json(), user.get_username())
