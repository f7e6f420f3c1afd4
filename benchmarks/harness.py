"""What the benchmarks share: free ports, server subprocesses, a throwaway PostgreSQL database.

Everything targets 127.0.0.1. Imported by the benchmark scripts, which run from this folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_fd_limit() -> None:
    """The soft limit of open files up to the hard one (servers' preexec, client processes)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def process_cpu(pid: int) -> float:
    """CPU seconds the process has used so far (user + system, all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_waited(pid: int) -> float | None:
    """Seconds the process's main thread (a server's event loop) has spent ready to run but
    waiting for a CPU (``/proc/PID/schedstat``); None where the kernel does not keep it."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def read_env_file(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> int:
        """Resident set size in bytes (``VmRSS`` of /proc/PID/status)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu(self) -> float:
        return process_cpu(self.pid)

    def waited(self) -> float | None:
        return thread_waited(self.pid)


@contextlib.contextmanager
def server_process(
    name: str, args: list[str], env: dict[str, str], log: Path, ready_url: str, port: int
) -> Iterator[Server]:
    """A server subprocess (open-files limit raised), ready when ``ready_url`` answers 200;
    stopped with SIGTERM on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603
            args, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=raise_fd_limit
        )
    try:
        deadline = time.monotonic() + 60
        while not http_ok(ready_url):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited; see {log}:\n{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start within 60 s; see {log}")
            time.sleep(0.1)
        yield Server(name, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh database on 127.0.0.1:5432, dropped afterwards; None (and said so) when the
    server cannot be reached."""
    import asyncpg

    name = f"backchannel_bench_{secrets.token_hex(6)}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        print(f"postgresql: skipped, 127.0.0.1:5432 is not reachable ({exc})")
        yield None
        return
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
