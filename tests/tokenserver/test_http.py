"""The token server over HTTP, on a real server: login, cookies, CSRF, API tokens, limits."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx

from backchannel.tokenserver import COOKIE

from .support import PASSWORD

CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


def set_cookie(response: httpx.Response) -> str | None:
    return response.headers.get("set-cookie")


def mint(client: httpx.Client, csrf_token: str | None = None, **kwargs) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if csrf_token is not None:
        headers["X-CSRF-Token"] = csrf_token
    return client.post("/auth/token", headers=headers, **kwargs)


def test_login_sets_an_httponly_samesite_cookie_and_the_token_it_gets_verifies(auth_server):
    name = auth_server.add_user("alice")
    client = auth_server.client()
    response = client.post("/auth/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    cookie = set_cookie(response)
    assert cookie is not None and cookie.startswith(f"{COOKIE}=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/auth", "max-age=28800"} <= attributes
    assert "secure" not in attributes  # plain http on 127.0.0.1
    body = response.json()
    assert body["identity"] == name and body["auth"] == "session"
    assert len(body["csrf_token"]) >= 32
    assert response.headers["cache-control"] == "no-store"

    minted = mint(client, body["csrf_token"])
    assert minted.status_code == 200, minted.text
    payload = minted.json()
    assert set(payload) == {"token", "identity", "service_sid", "expires_at", "expires_at_epoch",
                            "ttl"}
    verified = auth_server.verifier().verify(payload["token"])
    assert verified.identity == name == payload["identity"]
    assert verified.service_sid == auth_server.config.twilio_chat_service_sid
    assert verified.account_sid == auth_server.config.twilio_account_sid
    assert verified.expires_at == payload["expires_at_epoch"]
    assert verified.expires_at - verified.not_before == payload["ttl"] == 3600

    me = httpx.get(f"{auth_server.url}/client/v1/me", headers={"X-Twilio-Token": payload["token"]})
    assert me.status_code == 200, me.text
    assert me.json()["identity"] == name
    assert me.json()["service_sid"] == auth_server.config.twilio_chat_service_sid


def test_me_tells_a_logged_in_page_its_identity_and_csrf_token(auth_server):
    name = auth_server.add_user()
    client = auth_server.client()
    csrf_token = auth_server.login(client, name)
    response = client.get("/auth/me")
    assert response.status_code == 200
    assert response.json()["identity"] == name
    assert response.json()["csrf_token"] == csrf_token
    assert auth_server.client().get("/auth/me").status_code == 401


def test_form_login_redirects_to_next_and_refuses_other_sites_as_next(auth_server):
    name = auth_server.add_user()
    client = auth_server.client()
    form = {"username": name, "password": PASSWORD, "next": "/chat?room=1"}
    response = client.post("/auth/login", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/chat?room=1"
    assert COOKIE in client.cookies
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        other = auth_server.client()
        response = other.post("/auth/login", data={**form, "next": evil})
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/"


def test_wrong_password_is_401_without_a_cookie(auth_server):
    name = auth_server.add_user()
    response = auth_server.client().post(
        "/auth/login", json={"username": name, "password": "not the password"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_credentials",
        "message": "wrong username or password",
        "status": 401,
    }
    assert set_cookie(response) is None
    form = auth_server.client().post("/auth/login", data={"username": name, "password": "nope"})
    assert form.status_code == 401
    assert set_cookie(form) is None
    assert "wrong username or password" in form.text


def test_an_unknown_user_gets_exactly_the_answer_of_a_wrong_password(auth_server):
    name = auth_server.add_user()
    wrong = auth_server.client().post(
        "/auth/login", json={"username": name, "password": "not the password"}
    )
    unknown = auth_server.client().post(
        "/auth/login", json={"username": name + "-nobody", "password": "not the password"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content
    assert {k: v for k, v in unknown.headers.items() if k != "date"} == {
        k: v for k, v in wrong.headers.items() if k != "date"
    }


def test_no_forged_or_tampered_cookie_gets_a_token(auth_server):
    name = auth_server.add_user()
    client = auth_server.client()
    csrf_token = auth_server.login(client, name)
    real = client.cookies[COOKIE]
    tampered = real[:-1] + ("A" if real[-1] != "A" else "B")
    assert auth_server.client().post("/auth/token").status_code == 401  # no cookie at all
    for value in (tampered, "forged", "x" * 43, real + "="):
        other = auth_server.client(cookies={COOKIE: value})
        response = mint(other, csrf_token)
        assert response.status_code == 401, value
        assert response.json()["error"] == "unauthenticated"
        assert f"{COOKIE}=" in response.headers["set-cookie"]  # the bad cookie is cleared
        assert other.get("/auth/me").status_code == 401
    assert mint(client, csrf_token).status_code == 200


def test_cross_site_or_tokenless_posts_are_refused_with_403(auth_server):
    name = auth_server.add_user()
    client = auth_server.client()
    csrf_token = auth_server.login(client, name)
    attempts = [
        mint(client, csrf_token, headers=CROSS_SITE),
        mint(client, csrf_token, headers={"Origin": "https://evil.example"}),
        mint(client, csrf_token, headers={"Origin": "null"}),
        mint(client, csrf_token, headers={"Sec-Fetch-Site": "same-site"}),
        mint(client),  # no CSRF token
        mint(client, "not-the-token"),
        client.post("/auth/logout", headers=CROSS_SITE),
        client.post("/auth/logout"),  # no CSRF token
        client.post("/auth/logout", data={"csrf_token": "wrong"}),
        auth_server.client().post(
            "/auth/login", json={"username": name, "password": PASSWORD}, headers=CROSS_SITE
        ),
    ]
    for response in attempts:
        assert response.status_code == 403, response.request
        assert response.json()["error"] == "csrf_failed"
        assert set_cookie(response) is None
    # none of it closed the session; the real page still gets its token
    assert mint(client, csrf_token, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert client.post("/auth/token", data={"csrf_token": csrf_token}).status_code == 200


def test_a_client_that_is_not_a_browser_needs_no_origin(auth_server):
    name = auth_server.add_user()
    with httpx.Client(base_url=auth_server.url) as client:  # sends neither Origin nor Sec-Fetch-*
        csrf_token = auth_server.login(client, name)
        assert mint(client).status_code == 403  # the cookie still needs the CSRF token
        assert mint(client, csrf_token).status_code == 200


def test_logout_closes_the_session_on_the_server(auth_server):
    name = auth_server.add_user()
    client = auth_server.client()
    csrf_token = auth_server.login(client, name)
    kept = client.cookies[COOKIE]
    response = client.post("/auth/logout", headers={"X-CSRF-Token": csrf_token})
    assert response.status_code == 204
    assert response.headers["set-cookie"].startswith(f'{COOKIE}=""')
    assert COOKIE not in client.cookies
    replay = auth_server.client(cookies={COOKIE: kept})
    assert mint(replay, csrf_token).status_code == 401
    assert replay.get("/auth/me").status_code == 401
    # the form's sign-out button: 303 to the login page
    csrf_token = auth_server.login(client, name)
    response = client.post("/auth/logout", data={"csrf_token": csrf_token})
    assert response.status_code == 303 and response.headers["location"] == "/auth/login"
    assert mint(client, csrf_token).status_code == 401


def test_a_new_login_closes_the_previous_session_of_the_browser(auth_server):
    name = auth_server.add_user()
    client = auth_server.client()
    auth_server.login(client, name)
    first = client.cookies[COOKIE]
    auth_server.login(client, name)
    assert client.cookies[COOKIE] != first
    assert auth_server.client(cookies={COOKIE: first}).get("/auth/me").status_code == 401


def test_api_tokens_mint_until_they_expire(auth_server):
    name = auth_server.add_user()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    live = auth_server.api_token(name, now + timedelta(days=400))
    expired = auth_server.api_token(name, now - timedelta(days=400))
    with httpx.Client(base_url=auth_server.url) as client:
        response = client.post("/auth/token", headers={"Authorization": f"Bearer {live}"})
        assert response.status_code == 200, response.text
        assert auth_server.verifier().verify(response.json()["token"]).identity == name
        me = client.get("/auth/me", headers={"Authorization": f"Bearer {live}"}).json()
        assert me["identity"] == name and me["auth"] == "api_token" and me["csrf_token"] is None

        for header in (f"Bearer {expired}", f"Bearer {live}x", "Bearer", f"Basic {live}"):
            response = client.post("/auth/token", headers={"Authorization": header})
            assert response.status_code == 401, header
            assert response.json()["error"] == "unauthenticated"
            assert response.headers["www-authenticate"].startswith("Bearer ")
        response = client.post("/auth/token", headers={"Authorization": f"Bearer {expired}"})
        assert response.json()["message"] == "the API token has expired"


def test_failed_logins_are_limited_per_user(auth_server):
    name = auth_server.add_user()
    for _ in range(5):  # each from a new address: only the username's count grows
        response = auth_server.client().post(
            "/auth/login", json={"username": name, "password": "guess"}
        )
        assert response.status_code == 401
    limited = auth_server.client().post(
        "/auth/login", json={"username": name, "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"] == "too_many_attempts"
    assert limited.json()["retry_after"] == int(limited.headers["retry-after"])
    assert set_cookie(limited) is None
    upper = auth_server.client().post(
        "/auth/login", json={"username": name.upper(), "password": "guess"}
    )
    assert upper.status_code == 429  # the count is per case-folded name
    other = auth_server.add_user()
    assert auth_server.login(auth_server.client(), other)  # other users are not affected


def test_failed_logins_are_limited_per_address(auth_server):
    client = auth_server.client()
    for i in range(5):  # a different user each time: only the address's count grows
        response = client.post("/auth/login", json={"username": f"nobody-{i}", "password": "x"})
        assert response.status_code == 401
    name = auth_server.add_user()
    limited = client.post("/auth/login", json={"username": name, "password": PASSWORD})
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
    assert auth_server.login(auth_server.client(), name)  # another address may log in


def test_the_limit_does_not_tell_whether_a_user_exists(auth_server):
    real, unknown = auth_server.add_user(), f"nobody-{secrets.token_hex(4)}"
    answers = []
    for name in (real, unknown):
        for _ in range(5):
            auth_server.client().post("/auth/login", json={"username": name, "password": "x"})
        answers.append(
            auth_server.client().post("/auth/login", json={"username": name, "password": "x"})
        )
    assert [a.status_code for a in answers] == [429, 429]
    assert answers[0].json()["error"] == answers[1].json()["error"]


def test_login_page_and_signed_in_page(auth_server):
    client = auth_server.client()
    page = client.get("/auth/login", params={"next": "/chat"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert 'action="/auth/login"' in page.text and 'value="/chat"' in page.text
    home = client.get("/auth/")
    assert home.status_code == 303 and home.headers["location"] == "/auth/login"
    name = auth_server.add_user()
    csrf_token = auth_server.login(client, name)
    home = client.get("/auth/")
    assert home.status_code == 200 and name in home.text and csrf_token in home.text


def test_bad_bodies(auth_server):
    client = auth_server.client()
    assert client.post("/auth/login", json={"username": "a"}).status_code == 400
    assert client.post("/auth/login", json=["a"]).status_code == 400
    assert client.post("/auth/login", content=b"{", headers={"Content-Type": "application/json"}
                       ).status_code == 400
    assert client.post("/auth/login", content=b"a", headers={"Content-Type": "text/plain"}
                       ).status_code == 415
    assert client.post("/auth/login", json={"username": "a", "password": "p" * 20_000}
                       ).status_code == 413


def test_the_chat_service_paths_are_untouched(auth_server):
    assert httpx.get(f"{auth_server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{auth_server.url}/openapi.json").status_code == 200
    assert httpx.get(f"{auth_server.url}/client/v1/me").status_code == 401


def test_parallel_guesses_cannot_overrun_the_limit(auth_server):
    from concurrent.futures import ThreadPoolExecutor

    name = auth_server.add_user()
    client = auth_server.client()

    def guess(i: int) -> int:
        body = {"username": name, "password": f"guess {i}"}
        return client.post("/auth/login", json=body).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(guess, range(12)))
    assert statuses == [401] * 5 + [429] * 7


def test_successful_logins_do_not_use_up_the_limit(auth_server):
    name = auth_server.add_user()
    client = auth_server.client()
    for _ in range(7):
        auth_server.login(client, name)
