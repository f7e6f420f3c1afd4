"""A server killed outright (SIGKILL) while a client sends: every acknowledged message survives,
exactly once, and the client's retries after the restart add no duplicates."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import Any

from twilio.rest import Client

from backchannel.client import ChatClient
from backchannel.client.backoff import Backoff
from backchannel.tokens import AccessToken
from backchannel.tokens.grants import ChatGrant
from processes import (  # tests/processes.py
    backchannel,
    clean_environment,
    parse_env,
    start_serving,
    stop_serving,
)

MESSAGES = 60
KILL_AFTER = 20  # acknowledged sends


def test_acknowledged_messages_survive_a_sigkill_exactly_once(tmp_path: Path) -> None:
    env = clean_environment(tmp_path)
    values = parse_env(backchannel(env, "init").stdout)
    server, url = start_serving(env)
    port = int(url.rsplit(":", 1)[1])
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
    restarted: list[subprocess.Popen[str]] = []

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
                    restarted.append((await asyncio.to_thread(start_serving, env, port=port))[0])

                asyncio.get_running_loop().create_task(restart())
        await client.shutdown()

    try:
        asyncio.run(scenario())
        stored = rest.chat.v2.services(service_sid).channels("crash").messages.list()
    finally:
        for process in [server, *restarted]:
            stop_serving(process)

    assert len(acknowledged) == MESSAGES
    assert restarted, "the test never restarted the server"
    bodies: list[Any] = [message.body for message in stored]
    assert sorted(bodies) == sorted(body for body, _ in acknowledged)  # each exactly once
    assert {m.body: m.index for m in stored} == dict(acknowledged)
