"""``backchannel demo`` as a newcomer runs it: a subprocess in an empty folder, run again later."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from processes import free_port  # tests/processes.py

LOGIN = re.compile(r"^  (alice|bob)\s+password (\S+)$", re.MULTILINE)


@pytest.fixture
def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("BACKCHANNEL_", "TWILIO_"))}


@dataclass
class Run:
    url: str
    stdout: str = ""


@contextmanager
def demo(env: dict[str, str], folder: Path) -> Iterator[Run]:
    """``backchannel demo`` in ``folder``, serving; SIGTERM (a clean exit) when the block ends,
    then ``run.stdout`` is what it printed."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "backchannel", "demo", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = Run(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the demo server did not start"
            try:
                if httpx.get(f"{run.url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield run
    finally:
        process.send_signal(signal.SIGTERM)
        run.stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def chat_token(url: str, username: str, password: str) -> httpx.Response:
    """Sign in at the token server and ask for a chat token, as the web app does."""
    with httpx.Client(base_url=url) as http:
        response = http.post("/auth/login", json={"username": username, "password": password})
        if response.status_code != 200:
            return response
        csrf = response.json()["csrf_token"]
        return http.post("/auth/token", headers={"X-CSRF-Token": csrf})


def test_demo_creates_the_demo_once_then_reuses_it(env: dict[str, str], tmp_path: Path) -> None:
    with demo(env, tmp_path) as first:
        page = httpx.get(f"{first.url}/")
        assert page.status_code == 200
        assert '<script type="module" src="/static/app.js">' in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert httpx.get(f"{first.url}/static/app.js").status_code == 200
        assert httpx.get(f"{first.url}/static/backchannel.js").status_code == 200
    logins = dict(LOGIN.findall(first.stdout))
    assert set(logins) == {"alice", "bob"}, first.stdout
    assert all(len(password) == 12 for password in logins.values())
    assert f"open {first.url}/" in first.stdout
    assert "shown this once" in first.stdout
    database = tmp_path / "backchannel-demo.db"
    assert (tmp_path / "backchannel-demo.key").stat().st_mode & 0o777 == 0o600
    for password in logins.values():  # kept nowhere but in their hashes
        assert password.encode() not in database.read_bytes()

    # The second run reuses the database: the same logins work; no password is shown.
    with demo(env, tmp_path) as second:
        assert chat_token(second.url, "alice", "not-her-password").status_code == 401
        tokens = {}
        for name, password in logins.items():
            response = chat_token(second.url, name, password)
            assert response.status_code == 200, response.text
            assert response.json()["identity"] == name
            tokens[name] = response.json()["token"]
        # The token opens the demo's #general: both are members, and presence is on.
        members = httpx.get(
            f"{second.url}/app/channels/general/members", headers={"X-Twilio-Token": tokens["bob"]}
        )
        assert members.status_code == 200, members.text
        assert members.json()["reachability_enabled"] is True
        assert [m["identity"] for m in members.json()["members"]] == ["alice", "bob"]
        anonymous = httpx.get(f"{second.url}/app/channels/general/members")
        assert anonymous.status_code == 401
    assert LOGIN.findall(second.stdout) == []
    assert "passwords printed when backchannel-demo.db was created" in second.stdout
    assert "delete backchannel-demo.db" in second.stdout
    assert "New demo database" not in second.stdout


def test_demo_refuses_a_database_it_did_not_make(env: dict[str, str], tmp_path: Path) -> None:
    def backchannel(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backchannel", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    init = backchannel("init", "--database-url", f"sqlite:///{tmp_path / 'chat.db'}")
    assert init.returncode == 0, init.stderr
    result = backchannel("demo", "--database", "chat.db")
    assert result.returncode == 1
    assert result.stderr.startswith("error: this database was not made by `backchannel demo`")
    assert len(result.stderr.splitlines()) == 1
