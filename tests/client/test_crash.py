"""A server killed outright (SIGKILL) while a client sends: every acknowledged message survives,
exactly once, and the client's retries after the restart add no duplicates."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from twilio.rest import Client

from backchannel.client import ChatClient
from backchannel.client.backoff import Backoff
from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant

MESSAGES = 60
KILL_AFTER = 20  # acknowledged sends


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKCHANNEL_", "TWILIO_"))}
    env["BACKCHANNEL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'crash.db'}"
    return env


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "backchannel", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)


def test_acknowledged_messages_survive_a_sigkill_exactly_once(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    init = subprocess.run(
        [sys.executable, "-m", "backchannel", "init"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    values = dict(line.split("=", 1) for line in init.stdout.splitlines())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = _serve(env, port)
    rest = Client(values["TWILIO_ACCOUNT_SID"], values["TWILIO_AUTH_TOKEN"])
    rest.chat.base_url = url
    service_sid = values["TWILIO_CHAT_SERVICE_SID"]

    token = AccessToken(
        values["TWILIO_ACCOUNT_SID"],
        values["TWILIO_API_KEY"],
        values["TWILIO_API_SECRET"],
        identity="alice",
    )
    token.add_grant(ChatGrant(service_sid=service_sid))
    acknowledged: list[tuple[str, int]] = []
    restarted: list[subprocess.Popen[bytes]] = []

    async def scenario() -> None:
        client = await ChatClient.create(
            token.to_jwt(), url=url, backoff=Backoff(initial=0.1, maximum=0.5)
        )
        channel = await client.create_channel(unique_name="crash")
        for n in range(MESSAGES):
            body = f"message {n}"
            index = await asyncio.wait_for(channel.send_message(body), timeout=60)
            acknowledged.append((body, index))
            if len(acknowledged) == KILL_AFTER:
                server.send_signal(signal.SIGKILL)
                server.wait()

                async def restart() -> None:
                    await asyncio.sleep(0.5)  # sends keep failing and retrying meanwhile
                    restarted.append(await asyncio.to_thread(_serve, env, port))

                asyncio.get_running_loop().create_task(restart())
        await client.shutdown()

    try:
        asyncio.run(scenario())
        stored = rest.chat.v2.services(service_sid).channels("crash").messages.list()
    finally:
        for process in [server, *restarted]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)

    assert len(acknowledged) == MESSAGES
    assert restarted, "the test never restarted the server"
    bodies: list[Any] = [message.body for message in stored]
    assert sorted(bodies) == sorted(body for body, _ in acknowledged)  # each exactly once
    assert {m.body: m.index for m in stored} == dict(acknowledged)
