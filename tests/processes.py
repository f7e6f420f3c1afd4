"""Running ``backchannel`` as a user does, in subprocesses: commands, and a server to talk to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def clean_environment(folder: Path) -> dict[str, str]:
    """This process's environment without BACKCHANNEL_/TWILIO_ settings, on a SQLite file."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("BACKCHANNEL_", "TWILIO_"))
    }
    environ["BACKCHANNEL_DATABASE_URL"] = f"sqlite:///{folder / 'chat.db'}"
    return environ


def backchannel(
    env: dict[str, str], *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "backchannel", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def parse_env(stdout: str) -> dict[str, str]:
    """The ``NAME=value`` lines ``backchannel init`` prints."""
    return dict(line.split("=", 1) for line in stdout.splitlines())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serving(
    env: dict[str, str], *args: str, port: int | None = None
) -> tuple[subprocess.Popen[str], str]:
    """``backchannel <args or serve> --port N``, once ``/healthz`` answers: (process, url)."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "backchannel", *(args or ("serve",)), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)


def stop_serving(process: subprocess.Popen[str]) -> None:
    """SIGTERM, the way an operator stops it, and wait for the graceful exit."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        if process.stderr:
            process.stderr.close()
