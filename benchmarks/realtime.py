"""Live sessions: a broadcast to N clients at a rising rate, Backchannel vs python-socketio; and
the memory of idle connections.

    python benchmarks/realtime.py [--clients 100] [--steps 50,75,…,12800,19200,25600]
                                  [--step-seconds 5] [--senders 1] [--client-processes 2]
                                  [--database sqlite|postgresql]
                                  [--idle 10000] [--idle-processes 4] [--idle-concurrency 2]
                                  [--idle-rate 500] [--idle-seconds 90] [--skip-broadcast]

Broadcast. Two servers run as subprocesses on free ports of 127.0.0.1:

- Backchannel itself (``backchannel init --env-file``, then ``backchannel serve``) on a fresh
  SQLite file, or with ``--database postgresql`` on a fresh database on 127.0.0.1:5432 (user
  postgres) dropped afterwards; the request rate limit is raised for the sender;
- the peer a Python team would otherwise pick: a python-socketio ``AsyncServer`` on uvicorn
  (ASGI, ``backchannel serve``'s settings but uvicorn's own WebSocket protocol,
  ``websockets-sansio``, where Backchannel runs its coalescing subclass of it) whose ``send``
  handler re-emits each message to a room and acknowledges it. No authentication, no
  persistence.

``--clients`` receivers run in ``--client-processes`` processes of their own, so they do not share
the server's CPU accounting. They are lean WebSocket clients (``FrameReader``: websockets' sans-I/O
handshake, then frames parsed by hand, no compression) speaking docs/protocol.md and Engine.IO 4 /
Socket.IO 5 respectively, so that as little of the two cores as possible goes to the load: while a
step runs, a receiver only keeps what each read brings, with the time of the read; once the step's
deliveries have stopped coming (the bytes read stop growing), the frames are parsed, their send
stamps found by one regular expression and tallied, with the garbage collector off. The memory a
step's reads take is faulted in before the first step and kept between steps
(``keep_freed_memory``), so that keeping them costs no page faults. On Backchannel each
authenticates with its own token and joins the channel. One sender (its own token; a member too, as
is the peer's sender of the room; or ``--senders`` of them sharing the rate) sends ``sendMessage``
/ emits ``send`` at each rate of ``--steps`` for ``--step-seconds``, without waiting for each
acknowledgement (at most one second's worth in flight); the messages due within a millisecond leave
in one write, and the sender reads only its acknowledgements, not the events of its own messages,
so that it, too, takes as little of the cores as it can. Each message's send time (when it was
written) is in its attributes, so every receiver measures send→receive latency on the same clock.
The servers take turns, rate by rate, so machine noise hits both alike. A step falls behind when
fewer than 97% of its messages were sent on pace, acknowledged, or delivered to every receiver
within 0.5 s of the step's end, or a receiver was closed; it then gets one retry (the machine is
shared), and a server that falls behind twice stops rising. Each then runs once more at 80% of its
top rate, for the latency there. Per step: messages sent, acknowledged (for Backchannel: authorized
and committed), deliveries (``messageAdded`` frames received by the receivers, the sender's own
copy not counted), latency p50/p99, the acknowledgement's p99, the CPU used by the server and by
the client processes (receivers and sender), and how long the server's event loop was ready to run
but waited for a CPU (``/proc/PID/schedstat``): the machine's two cores are shared with the load.

Idle. A fresh Backchannel server process (file descriptor limit raised to the hard limit) takes
``--idle`` authenticated connections with distinct identities (each a user created on first
sight), opened from ``--idle-processes`` client processes with ``--idle-concurrency``
authentications in flight (each is a database transaction, and SQLite's write lock makes more at
once slower, not faster), at most ``--idle-rate`` a second, for at most ``--idle-seconds``. The
server's resident memory (``VmRSS``) is read before and with them open; if time ran out first,
the memory for ``--idle`` connections is extrapolated and said so.

Everything targets 127.0.0.1, is bounded in count and time, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import gc
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.http11 import Response
from websockets.uri import parse_uri

from harness import (
    Server,
    free_port,
    postgres_database,
    process_cpu,
    raise_fd_limit,
    read_env_file,
    server_process,
)

GRACE = 0.5  # seconds after a step's end by which its deliveries count as "on time"
KEPT_UP = 0.97
ROOM = "bench"
BODY = "x" * 40
# The attributes every message carries, as both servers serialize them (compact JSON).
STAMP = re.compile(rb'"sent":([0-9.]+),"step":(\d+),"until":([0-9.]+)')
REPLY = re.compile(r'\{"id":(\d+),"ok":(true|false)')  # docs/protocol.md, "Frames"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters (malloc.h)
# What a messageAdded frame takes in a receiver's read (419 characters and a 4-byte header at
# the highest rate's indexes), and a little over Socket.IO's.
FRAME_BYTES = 440
MAX_WARM = 3 * 2**29  # bytes a receiver process faults in before the first step, at most
SEND_TICK = 0.001  # seconds: a sender writes the messages due within a tick together
CATCH_UP = 15.0  # seconds a receiver may keep reads unparsed (a ping needs its pong in 20 s)
# What a read holding a ping has, and no JSON text can: the first bytes of uvicorn's keepalive
# ping (4 bytes of payload) and of Engine.IO's ping, a text frame "2". A read is first searched
# for the WebSocket ping's first byte alone (memchr, about 40 times faster than a search for two
# bytes in a read of a few kB); 0x89 is never in ASCII JSON, so few reads without a ping pay
# for more.
PING, ENGINEIO_PING = b"\x89\x04", b"\x81\x012"
BUCKET = 10_000  # latency histogram buckets per second (0.1 ms)
# msg/s
DEFAULT_STEPS = (
    "50,75,100,150,200,300,400,600,800,1200,1600,2400,3200,4800,6400,9600,12800,19200,25600"
)


# --- servers -------------------------------------------------------------------------------------


@dataclass
class Backchannel:
    """What the benchmark needs to know of an initialized Backchannel database."""

    env: dict[str, str]
    creds: dict[str, str]

    @classmethod
    def init(cls, database_url: str, work: Path) -> Backchannel:
        env = {
            **os.environ,
            "BACKCHANNEL_DATABASE_URL": database_url,
            "BACKCHANNEL_MASTER_KEY_FILE": str(work / "master.key"),
            "BACKCHANNEL_REQUEST_RATE": "100000",  # the sender is far over the default 100/s
            "BACKCHANNEL_REQUEST_BURST": "100000",
        }
        env.pop("BACKCHANNEL_PUBLIC_URL", None)
        env.pop("BACKCHANNEL_BROKER_URL", None)
        env_file = work / "backchannel.env"
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "backchannel", "init", "--env-file", str(env_file)],
            env=env,
            check=True,
            capture_output=True,
        )
        return cls(env, read_env_file(env_file))

    def serve(self, work: Path, log_name: str) -> contextlib.AbstractContextManager[Server]:
        port = free_port()
        args = [sys.executable, "-m", "backchannel", "serve", "--host", "127.0.0.1"]
        args += ["--port", str(port)]
        ready = f"http://127.0.0.1:{port}/healthz"
        return server_process("backchannel", args, self.env, work / log_name, ready, port)

    def token(self, identity: str, ttl: int = 3600) -> str:
        from backchannel.tokens import AccessToken
        from backchannel.tokens.grants import ChatGrant

        c = self.creds
        grant = ChatGrant(c["TWILIO_CHAT_SERVICE_SID"])
        token = AccessToken(
            c["TWILIO_ACCOUNT_SID"],
            c["TWILIO_API_KEY"],
            c["TWILIO_API_SECRET"],
            identity=identity,
            ttl=ttl,
            grants=[grant],
        )
        return token.to_jwt()

    def raise_member_limit(self, port: int, members: int) -> None:
        """Services allow 250 members a channel by default; more clients need a higher limit."""
        c = self.creds
        url = f"http://127.0.0.1:{port}/v2/Services/{c['TWILIO_CHAT_SERVICE_SID']}"
        auth = f"{c['TWILIO_ACCOUNT_SID']}:{c['TWILIO_AUTH_TOKEN']}".encode()
        request = urllib.request.Request(
            url,
            data=f"Limits.ChannelMembers={members}".encode(),
            headers={"Authorization": "Basic " + base64.b64encode(auth).decode()},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()


# --- the peer: python-socketio on uvicorn --------------------------------------------------------


def run_socketio_server(port: int) -> None:
    import socketio
    import uvicorn

    from backchannel.api.serving import uvicorn_config

    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[])

    @sio.on("join")  # type: ignore[misc]
    async def join(sid: str, *_: Any) -> bool:
        await sio.enter_room(sid, ROOM)
        return True

    @sio.on("send")  # type: ignore[misc]
    async def send(sid: str, data: Any) -> bool:
        await sio.emit("message", data, room=ROOM)
        return True

    app = socketio.ASGIApp(sio)
    # Backchannel's settings, but uvicorn's own WebSocket protocol: what a team would run.
    config = uvicorn_config(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
    )
    uvicorn.Server(config).run()


def socketio_ready_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"


# --- the two protocols, client side --------------------------------------------------------------


def ws_url(target: str, port: int) -> str:
    if target == "backchannel":
        return f"ws://127.0.0.1:{port}/client/v1/ws"
    return f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"


class FrameReader(asyncio.Protocol):
    """A lean WebSocket client for the receivers, so that their own CPU disturbs the servers
    less: after the handshake (websockets' sans-I/O protocol, which also frames what is sent),
    incoming frames are read here, in the callback that received them, with no task, queue or
    frame object per frame; each text goes to ``on_text`` (until that is set, to ``recv()``).
    Pings are answered; a close frame closes the connection.

    With ``stamps`` set (a list), a read is not parsed as it comes: its bytes are kept with its
    time until ``catch_up()`` (between steps, or ``CATCH_UP`` seconds after the first read
    kept, well within the servers' ping timeouts) reads their frames. A WebSocket ping in a
    kept read is answered at once, from that read alone (``_answer_pings``): parsing seconds of
    reads to reach it would stall this process, and with it the reads of every connection it
    holds, in the middle of a step. Text frames longer than a few bytes are not decoded one by
    one: the send stamps of all the whole frames a read brought are found by one regular
    expression (``STAMP``, in C) and kept with the time of the read, as
    ``(time, [(sent, step, until)])``, to be tallied; short texts (Engine.IO's ping) still go
    to ``on_text``."""

    def __init__(self, url: str) -> None:
        self.ws = ClientProtocol(parse_uri(url), max_size=2**20)
        self.on_text: Any = None
        self.held: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.stamps: list[tuple[float, list[tuple[bytes, bytes, bytes]]]] | None = None
        self.reads: list[tuple[float, bytes]] = []  # with stamps set: not parsed yet
        self.received = 0  # bytes read, in all
        self.close_code: int | None = None  # the server's, once its close frame is read
        self.catch_up_timer: asyncio.TimerHandle | None = None
        self.engineio = False  # Engine.IO's pings, too, are answered at once
        # Where set, text frames that start otherwise are skipped undecoded (a sender needs only
        # its replies, not the events of the messages it sent).
        self.texts_wanted: tuple[bytes, ...] | None = None
        self.ponged: list[bytes] = []  # payloads of pings answered before they were parsed

    @classmethod
    async def open(cls, url: str) -> FrameReader:
        host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
        loop = asyncio.get_running_loop()
        _, reader = await loop.create_connection(lambda: cls(url), host, int(port))
        async with asyncio.timeout(60):
            await reader.opened
        return reader

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.stamps is not None:
            if not self.reads:
                loop = asyncio.get_running_loop()
                self.catch_up_timer = loop.call_later(CATCH_UP, self.catch_up)
            self.reads.append((time.time(), data))
            if self.engineio and ENGINEIO_PING in data:
                self.catch_up()  # the peer's steps are slow: few reads to parse
            elif b"\x89" in data and PING in data:
                self._answer_pings(data)
            return
        buffer = self.buffer + data if self.buffer else data
        if not self.opened.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            self.ws.receive_data(buffer[: end + 4])
            events = self.ws.events_received()
            if not (events and isinstance(events[0], Response) and events[0].status_code == 101):
                self.opened.set_exception(RuntimeError(f"no WebSocket: {buffer[:200]!r}"))
                assert self.transport is not None
                self.transport.close()
                return
            self.opened.set_result(None)
            buffer = buffer[end + 4 :]
        self.buffer = self._read_frames(buffer, time.time())
        self._flush()

    def catch_up(self) -> None:
        """Read the frames of the reads kept so far."""
        if self.catch_up_timer is not None:
            self.catch_up_timer.cancel()
        reads, self.reads = self.reads, []
        for now, data in reads:
            buffer = self.buffer + data if self.buffer else data
            self.buffer = self._read_frames(buffer, now)
        self._flush()

    def _answer_pings(self, data: bytes) -> None:
        """Pong the pings of a kept read, as a client would at once; its frames are parsed
        later, and the pings answered here are then not answered again. A ping whose payload is
        not all in this read is left to ``catch_up()``."""
        start = data.find(PING)
        while start >= 0:
            payload = data[start + 2 : start + 6]
            if len(payload) < 4:
                self.catch_up()
                return
            self.ws.send_pong(payload)
            self.ponged.append(payload)
            start = data.find(PING, start + 6)
        self._flush()

    def _read_frames(self, buffer: bytes, now: float) -> bytes:
        """Handle the whole frames at the start of ``buffer``, read at ``now``; the rest, to
        wait for more."""
        stamps, wanted = self.stamps, self.texts_wanted
        pos, size_of_buffer, texts_from = 0, len(buffer), -1
        while size_of_buffer - pos >= 2:
            opcode, size, start = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F, pos + 2
            if size >= 126:  # the length follows in 2 or 8 bytes
                start += 2 if size == 126 else 8
                if start > size_of_buffer:
                    break
                size = int.from_bytes(buffer[pos + 2 : start], "big")
            if start + size > size_of_buffer:
                break
            pos = start + size
            if opcode == 0x1 and size > 8 and stamps is not None:
                if texts_from < 0:
                    texts_from = start
                continue
            if opcode == 0x1 and wanted and not buffer.startswith(wanted, start):
                continue
            payload = buffer[start:pos]
            if opcode == 0x1:  # text (the servers never fragment)
                text = payload.decode()
                if self.on_text is None:
                    self.held.put_nowait(text)
                else:
                    self.on_text(text)
            elif opcode == 0x9:  # ping
                if payload in self.ponged:
                    self.ponged.remove(payload)
                else:
                    self.ws.send_pong(payload)
            elif opcode == 0x8:  # close
                self.close_code = int.from_bytes(payload[:2], "big") if size >= 2 else 1005
                assert self.transport is not None
                self.transport.close()
                return b""
        if texts_from >= 0:
            assert stamps is not None
            found = STAMP.findall(buffer, texts_from, pos)
            if found:
                stamps.append((now, found))
        return buffer[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.opened, self.lost):
            if not future.done():
                future.set_result(None)

    def _flush(self) -> None:
        data = self.ws.data_to_send()
        if self.transport is not None and data:
            if data[-1] == b"":  # the protocol's end of stream: the close handshake is done
                self.transport.write(b"".join(data))
                self.transport.close()
            else:
                self.transport.write(b"".join(data))

    def send_now(self, text: str) -> None:
        self.send_all([text])

    def send_all(self, texts: list[str]) -> None:
        """Frame ``texts`` and write them at once."""
        for text in texts:
            self.ws.send_text(text.encode())
        self._flush()

    async def send(self, text: str) -> None:
        self.send_now(text)

    async def recv(self) -> str:
        return await self.held.get()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.send_close(1000)
            self._flush()
            async with asyncio.timeout(2):
                await self.lost
        if self.transport is not None:
            self.transport.close()


async def open_client(url: str, *, lean: bool = False) -> Any:
    """A ``websockets`` client (like the Python SDK: no compression; keepalive pings as its
    defaults), or with ``lean`` a ``FrameReader``; both ``await send(text)``, ``await recv()``."""
    if lean:
        return await FrameReader.open(url)
    return await connect(url, compression=None, max_size=2**20, open_timeout=60, max_queue=None)


async def backchannel_session(
    url: str, token: str, channel: str | None, *, lean: bool = False
) -> Any:
    """Authenticated (and a member of ``channel``) on return."""
    ws = await open_client(url, lean=lean)
    await ws.send(json.dumps({"cmd": "authenticate", "args": {"token": token}}))
    ready = await ws.recv()
    if not str(ready).startswith('{"event":"ready"'):
        raise RuntimeError(f"no ready frame: {str(ready)[:200]}")
    if channel is not None:
        await ws.send(json.dumps({"id": 1, "cmd": "joinChannel", "args": {"channel": channel}}))
        while True:
            frame = str(await ws.recv())
            if frame.startswith('{"id":1,'):
                if '"ok":true' not in frame[:20]:
                    raise RuntimeError(f"joinChannel failed: {frame[:200]}")
                break
    return ws


async def socketio_session(url: str, *, lean: bool = False) -> Any:
    """Connected to the default namespace and in the room on return."""
    ws = await open_client(url, lean=lean)
    opened = str(await ws.recv())
    if not opened.startswith("0"):
        raise RuntimeError(f"no Engine.IO open packet: {opened[:200]}")
    await ws.send("40")
    connected = str(await ws.recv())
    if not connected.startswith("40"):
        raise RuntimeError(f"no Socket.IO connect: {connected[:200]}")
    await ws.send('420["join"]')
    while True:
        frame = str(await ws.recv())
        if frame == "2":
            await ws.send("3")
        elif frame.startswith("430"):
            return ws


# --- receivers: their own processes --------------------------------------------------------------


@dataclass
class StepCount:
    """Deliveries of one step's messages, as one client process saw them."""

    by_end: int = 0  # received before the step's end
    on_time: int = 0  # … before its end + GRACE
    total: int = 0
    hist: dict[int, int] = field(default_factory=dict)  # latency in 0.1 ms buckets

    def merge(self, other: StepCount) -> None:
        self.by_end += other.by_end
        self.on_time += other.on_time
        self.total += other.total
        for bucket, n in other.hist.items():
            self.hist[bucket] = self.hist.get(bucket, 0) + n

    def percentile(self, p: float) -> float:
        """Milliseconds."""
        if not self.total:
            return float("nan")
        rank, seen = p / 100 * sum(self.hist.values()), 0
        for bucket in sorted(self.hist):
            seen += self.hist[bucket]
            if seen >= rank:
                return bucket / BUCKET * 1e3
        return max(self.hist) / BUCKET * 1e3


@dataclass
class ReceiverSpec:
    backchannel_url: str
    tokens: list[str]
    channel: str
    socketio_url: str
    socketio_clients: int
    warm_bytes: int  # what a step's reads may hold at most, faulted in before the first step


async def receive(pipe: Connection) -> Any:
    """The next object from ``pipe``, waited for by the event loop, not on a thread: starting
    one has failed here ("can't start new thread") right after another run's processes ended."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(pipe.fileno(), on_readable)
    try:
        await readable
    finally:
        loop.remove_reader(pipe.fileno())
    return pipe.recv()


def keep_freed_memory() -> bool:
    """Have glibc's allocator keep what this process frees for its next allocations, instead
    of handing it back to the system. A receiver keeps a step's reads (hundreds of MB at the top
    rates), frees them once they are tallied, and would fault as many fresh pages in at the
    next step: tens of thousands of page faults a second, which cost it more CPU than reading
    its sockets, on the cores the servers share. Reads (up to 256 KiB) also stay off ``mmap``.
    Whether it took: elsewhere than glibc, nothing changes."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) and libc.mallopt(M_MMAP_THRESHOLD, 2**20))


def warm_memory(size: int) -> None:
    """Fault ``size`` bytes of the heap in now and free them (kept, ``keep_freed_memory``):
    the reads of the first steps then land on pages already there, as later steps' do."""
    chunks = [bytearray(2**17) for _ in range(size // 2**17)]  # each written: its pages faulted
    del chunks


def receivers_main(pipe: Connection, spec: ReceiverSpec) -> None:
    raise_fd_limit()
    if keep_freed_memory():  # else what is warmed would be handed back at once
        warm_memory(spec.warm_bytes)
    # The stamps kept until each tally are millions of small tuples: the cyclic collector would
    # scan them again and again, stalling the very reads whose times are measured. Nothing
    # here makes reference cycles worth collecting.
    gc.disable()
    asyncio.run(_receivers(pipe, spec))


async def _receivers(pipe: Connection, spec: ReceiverSpec) -> None:
    counts: dict[tuple[str, int], StepCount] = {}

    # What each server's receivers read, not yet tallied: (time of the read, stamps found).
    stamps: dict[str, list[tuple[float, list[tuple[bytes, bytes, bytes]]]]] = {
        "backchannel": [],
        "socketio": [],
    }

    readers: list[FrameReader] = []

    def tally() -> None:
        """Count the stamps read so far into ``counts`` (between steps, off the clock)."""
        for reader in readers:
            reader.catch_up()
        for target, reads in stamps.items():
            for now, found in reads:
                for sent, step, until in found:
                    count = counts.get((target, int(step)))
                    if count is None:
                        count = counts[(target, int(step))] = StepCount()
                    count.total += 1
                    if now <= float(until):
                        count.by_end += 1
                    if now <= float(until) + GRACE:
                        count.on_time += 1
                    bucket = int((now - float(sent)) * BUCKET)
                    count.hist[bucket] = count.hist.get(bucket, 0) + 1
            reads.clear()

    def on_socketio(reader: FrameReader) -> Any:
        def on_text(frame: str) -> None:
            if frame == "2":
                reader.send_now("3")

        return on_text

    limit = asyncio.Semaphore(20)

    async def bounded(coro: Any) -> FrameReader:
        async with limit:
            return await coro  # type: ignore[no-any-return]

    # Backchannel receivers join one at a time after authenticating in parallel.
    sockets = await asyncio.gather(
        *(
            bounded(backchannel_session(spec.backchannel_url, t, spec.channel, lean=True))
            for t in spec.tokens
        )
    )
    peers = await asyncio.gather(
        *(
            bounded(socketio_session(spec.socketio_url, lean=True))
            for _ in range(spec.socketio_clients)
        )
    )
    for reader in sockets:
        reader.on_text = lambda frame: None
        reader.stamps = stamps["backchannel"]
    for reader in peers:
        reader.on_text = on_socketio(reader)
        reader.stamps = stamps["socketio"]
        reader.engineio = True
    readers.extend([*sockets, *peers])
    pipe.send("ready")
    while True:
        command = await receive(pipe)
        if command == "received":  # how much has come, without reading it
            pipe.send(sum(reader.received for reader in readers))
            continue
        tally()
        if command == "counts":
            closed = {  # the close code of each receiver closed so far (None: no close frame)
                target: [reader.close_code for reader in group if reader.lost.done()]
                for target, group in (("backchannel", sockets), ("socketio", peers))
            }
            pipe.send(({k: (c.by_end, c.on_time, c.total) for k, c in counts.items()}, closed))
        elif command == "stop":
            pipe.send(counts)
            break
    await asyncio.gather(*(reader.close() for reader in [*sockets, *peers]))


class Receivers:
    """The receiver processes, from the main process."""

    def __init__(self, specs: list[ReceiverSpec]) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for spec in specs:
            ours, theirs = context.Pipe()
            proc = context.Process(target=receivers_main, args=(theirs, spec), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    async def _ask(self, command: str | None) -> list[Any]:
        async def ask(pipe: Connection) -> Any:
            if command is not None:
                pipe.send(command)
            try:
                async with asyncio.timeout(120):
                    return await receive(pipe)
            except TimeoutError:
                raise RuntimeError("a receiver process did not answer within 120 s") from None

        return list(await asyncio.gather(*(ask(pipe) for pipe in self.pipes)))

    async def ready(self) -> None:
        await self._ask(None)

    async def received(self) -> int:
        """The bytes the receivers have read so far, in all."""
        return sum(await self._ask("received"))

    async def counts(self, target: str, step: int) -> tuple[int, int, int, list[int | None]]:
        """(by_end, on_time, total, the close codes of the receivers closed so far) across the
        processes."""
        by_end = on_time = total = 0
        closed: list[int | None] = []
        for per_step, closes in await self._ask("counts"):
            a, b, c = per_step.get((target, step), (0, 0, 0))
            by_end, on_time, total = by_end + a, on_time + b, total + c
            closed += closes[target]
        return by_end, on_time, total, closed

    async def stop(self) -> dict[tuple[str, int], StepCount]:
        merged: dict[tuple[str, int], StepCount] = {}
        for counts in await self._ask("stop"):
            for key, count in counts.items():
                merged.setdefault(key, StepCount()).merge(count)
        return merged

    def cpu(self) -> float:
        """CPU seconds of the receiver processes and of this one (the sender's)."""
        total = sum(process_cpu(p.pid) for p in self.procs if p.pid is not None)
        return total + process_cpu(os.getpid())

    def close(self) -> None:
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()


# --- the sender ----------------------------------------------------------------------------------


class Sender:
    """One connection sending at a paced rate, at most one second's worth unacknowledged."""

    def __init__(self, target: str, ws: FrameReader, channel: str = "") -> None:
        self.target = target
        self.ws = ws
        self.channel = channel
        self.next_id = 1
        self.sent_at: dict[int, float] = {}
        self.acked = 0
        self.ack_latencies: list[float] = []
        self.errors = 0
        self.first_error = ""
        self.changed = asyncio.Event()
        ws.on_text = self._on_text
        ws.texts_wanted = (b'{"id":',) if target == "backchannel" else (b"2", b"43")

    def _on_text(self, frame: str) -> None:
        now = time.perf_counter()
        if self.target == "backchannel":
            reply = REPLY.match(frame)  # the head of the reply is enough: no need to parse it all
            if reply is None:
                return
            ok, request_id = reply[2] == "true", int(reply[1])
            if not ok and not self.first_error:
                self.first_error = frame[:300]
        else:
            if frame == "2":
                self.ws.send_now("3")
                return
            if not frame.startswith("43"):
                return
            ok, request_id = True, int(frame[2 : frame.index("[")])
        started = self.sent_at.pop(request_id, None)
        if started is None:
            return
        if ok:
            self.acked += 1
            self.ack_latencies.append(now - started)
        else:
            self.errors += 1
        self.changed.set()

    def frame(self, request_id: int, attributes: dict[str, Any]) -> str:
        body = f"message {request_id} {BODY}"
        if self.target == "backchannel":
            args = {"channel": self.channel, "body": body, "attributes": attributes}
            return json.dumps(
                {"id": request_id, "cmd": "sendMessage", "args": args}, separators=(",", ":")
            )
        data = json.dumps(["send", {"body": body, "attributes": attributes}], separators=(",", ":"))
        return f"42{request_id}{data}"

    async def run(self, rate: float, seconds: float, step: int) -> tuple[int, float]:
        """Send at ``rate`` for ``seconds``; (messages sent, their end time on the wall clock).
        The messages due within a tick (``SEND_TICK``) leave together, in one write, each
        stamped with the time it was written."""
        self.acked, self.errors, self.ack_latencies = 0, 0, []
        window = max(50, int(rate))
        total = round(rate * seconds)
        start = time.perf_counter()
        wall_end = time.time() + seconds
        deadline = start + seconds
        until = round(wall_end, 6)
        sent = 0
        while sent < total:
            now = time.perf_counter()
            if now >= deadline:
                break
            due = start + sent / rate
            if due > now:
                await asyncio.sleep(max(due - now, SEND_TICK))
                continue
            if len(self.sent_at) >= window:
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), deadline - now)
                continue
            frames = []
            while sent < total and start + sent / rate <= now and len(self.sent_at) < window:
                request_id = self.next_id
                self.next_id += 1
                attributes = {"sent": round(time.time(), 6), "step": step, "until": until}
                self.sent_at[request_id] = time.perf_counter()
                frames.append(self.frame(request_id, attributes))
                sent += 1
            self.ws.send_all(frames)
        return sent, wall_end

    async def drain(self, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while self.sent_at and time.perf_counter() < deadline:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), deadline - time.perf_counter())


class Senders:
    """Several senders sharing a rate (``--senders``); one by default."""

    def __init__(self, senders: list[Sender]) -> None:
        self.senders = senders
        self.target = senders[0].target

    @property
    def acked(self) -> int:
        return sum(s.acked for s in self.senders)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.senders)

    @property
    def ack_latencies(self) -> list[float]:
        return [latency for s in self.senders for latency in s.ack_latencies]

    @property
    def first_error(self) -> str:
        return next((s.first_error for s in self.senders if s.first_error), "")

    async def run(self, rate: float, seconds: float, step: int) -> tuple[int, float]:
        share = rate / len(self.senders)
        results = await asyncio.gather(*(s.run(share, seconds, step) for s in self.senders))
        return sum(sent for sent, _ in results), max(end for _, end in results)

    async def drain(self, timeout: float) -> None:
        await asyncio.gather(*(s.drain(timeout) for s in self.senders))

    async def close(self) -> None:
        await asyncio.gather(*(sender.ws.close() for sender in self.senders))


# --- the broadcast -------------------------------------------------------------------------------


@dataclass
class Step:
    target: str
    step: int
    rate: float
    seconds: float
    label: str = ""  # "retry", "80% of top"
    sent: int = 0
    acked_on_time: int = 0
    acked: int = 0
    errors: int = 0
    ack_p99: float = float("nan")
    expected: int = 0  # deliveries if every acked message reached every receiver
    by_end: int = 0
    on_time: int = 0
    delivered: int = 0
    closed: list[int | None] = field(default_factory=list)  # close codes of closed receivers
    server_load: float = 0.0  # the server's CPU seconds per second while the sender sent
    client_load: float = 0.0  # … the receivers' and the sender's, together
    server_wait: float | None = None  # the server's event loop waiting for a CPU, per second
    cpu: float = 0.0  # server CPU seconds for the whole step, until its deliveries settled
    latency: StepCount = field(default_factory=StepCount)

    @property
    def kept_up(self) -> bool:
        target = round(self.rate * self.seconds)
        return (
            self.sent >= KEPT_UP * target
            and self.acked_on_time >= KEPT_UP * self.sent
            and self.on_time >= KEPT_UP * self.expected
            and self.errors == 0
            and not self.closed
        )


async def run_step(
    sender: Senders,
    receivers: Receivers,
    server: Server,
    n: int,
    step_id: int,
    rate: float,
    seconds: float,
    label: str = "",
) -> Step:
    step = Step(sender.target, step_id, rate, seconds, label)
    cpu, client_cpu, started = server.cpu(), receivers.cpu(), time.perf_counter()
    waited = server.waited()
    step.sent, wall_end = await sender.run(rate, seconds, step_id)
    elapsed = time.perf_counter() - started
    step.server_load = (server.cpu() - cpu) / elapsed
    step.client_load = (receivers.cpu() - client_cpu) / elapsed
    waited_after = server.waited()
    if waited is not None and waited_after is not None:
        step.server_wait = (waited_after - waited) / elapsed
    await asyncio.sleep(max(0.0, wall_end + GRACE - time.time()))
    step.acked_on_time = sender.acked
    await sender.drain(15)
    step.acked, step.errors = sender.acked, sender.errors
    if sender.ack_latencies:
        ordered = sorted(sender.ack_latencies)
        step.ack_p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3
    step.expected = step.acked * n
    # Wait for the deliveries to settle before they are counted (at most 15 s): counting means
    # parsing, which while they still come would keep the receivers from reading, and a server
    # closes a reader that falls too far behind.
    deadline, last = time.monotonic() + 15, -1
    while True:
        received = await receivers.received()
        if received == last or time.monotonic() > deadline:
            break
        last = received
        await asyncio.sleep(0.5)
    by_end, on_time, total, closed = await receivers.counts(sender.target, step_id)
    step.by_end, step.on_time, step.delivered, step.closed = by_end, on_time, total, closed
    step.cpu = server.cpu() - cpu
    if sender.first_error:
        print(f"  {sender.target}: first error reply: {sender.first_error}")
    return step


async def broadcast(
    ours: Server, theirs: Server, bc: Backchannel, args: argparse.Namespace
) -> list[Step]:
    n = args.clients
    bc_url, io_url = ws_url("backchannel", ours.port), ws_url("socketio", theirs.port)
    senders_bc = [await backchannel_session(bc_url, bc.token("sender-0"), None, lean=True)]
    create = {"id": 1, "cmd": "createChannel", "args": {"friendly_name": "bench"}}
    await senders_bc[0].send(json.dumps(create))
    while True:
        reply = json.loads(await senders_bc[0].recv())
        if reply.get("id") == 1:
            break
    if not reply["ok"]:
        raise RuntimeError(f"createChannel failed: {reply}")
    channel = reply["result"]["channel"]["sid"]
    for i in range(1, args.senders):
        senders_bc.append(
            await backchannel_session(bc_url, bc.token(f"sender-{i}"), channel, lean=True)
        )
    senders_io = [await socketio_session(io_url, lean=True) for _ in range(args.senders)]

    tokens = [bc.token(f"receiver-{i}") for i in range(n)]
    per = -(-n // args.client_processes)
    specs = [
        ReceiverSpec(
            bc_url,
            tokens[i : i + per],
            channel,
            io_url,
            len(tokens[i : i + per]),
            min(int(max(args.steps) * (args.step_seconds + GRACE)) * per * FRAME_BYTES, MAX_WARM),
        )
        for i in range(0, n, per)
    ]
    started = time.perf_counter()
    receivers = Receivers(specs)
    try:
        await receivers.ready()
        print(
            f"{n} receivers connected to each server in {time.perf_counter() - started:.1f} s "
            f"({len(specs)} client processes)"
        )
        senders = {
            "backchannel": Senders([Sender("backchannel", ws, channel) for ws in senders_bc]),
            "socketio": Senders([Sender("socketio", ws) for ws in senders_io]),
        }
        servers = {"backchannel": ours, "socketio": theirs}
        steps: list[Step] = []
        top: dict[str, float | None] = {"backchannel": None, "socketio": None}
        rising = {"backchannel": True, "socketio": True}
        step_id = 0
        for rate in args.steps:
            for target in ("backchannel", "socketio"):
                if not rising[target]:
                    continue
                # A step that falls behind gets a second chance: the machine is shared.
                for label in ("", "retry"):
                    step_id += 1
                    step = await run_step(
                        senders[target],
                        receivers,
                        servers[target],
                        n,
                        step_id,
                        rate,
                        args.step_seconds,
                        label,
                    )
                    steps.append(step)
                    print_step(step)
                    if step.kept_up:
                        break
                if step.kept_up:
                    top[target] = rate
                else:
                    rising[target] = False
        for target in ("backchannel", "socketio"):
            best = top[target]
            if best is None:
                continue
            step_id += 1
            step = await run_step(
                senders[target],
                receivers,
                servers[target],
                n,
                step_id,
                0.8 * best,
                args.step_seconds,
                "80% of top",
            )
            steps.append(step)
            print_step(step)
        latencies = await receivers.stop()
        for step in steps:
            step.latency = latencies.get((step.target, step.step), StepCount())
        for group in senders.values():
            await group.close()
        return steps
    finally:
        receivers.close()


def print_step(step: Step) -> None:
    verdict = "kept up" if step.kept_up else "fell behind"
    label = step.label
    extra = ""
    if step.closed:
        codes = Counter("no close frame" if c is None else f"code {c}" for c in step.closed)
        why = ", ".join(f"{code}: {count}" for code, count in codes.items())
        extra = f", {len(step.closed)} receivers closed ({why})"
    print(
        f"  {step.target:<12}{step.rate:>6.0f} msg/s{' ' + label if label else ''}: "
        f"sent {step.sent / step.seconds:.0f}/s, acked {step.acked_on_time / step.seconds:.0f}/s, "
        f"delivered {step.by_end / step.seconds:.0f}/s "
        f"({100 * step.on_time / max(1, step.expected):.1f}% on time), "
        f"CPU: server {100 * step.server_load:.0f}%{_waited(step)}, "
        f"clients {100 * step.client_load:.0f}% — {verdict}{extra}"
    )


def _waited(step: Step) -> str:
    if step.server_wait is None:
        return ""
    return f" (its event loop waited for a CPU {100 * step.server_wait:.0f}% of the time)"


def report_broadcast(steps: list[Step], n: int) -> None:
    names = {"backchannel": "Backchannel", "socketio": "python-socketio"}
    for target in ("backchannel", "socketio"):
        rows = [s for s in steps if s.target == target]
        print(f"\n{names[target]} ({n} receivers)")
        print(
            f"{'rate':>6}{'sent/s':>8}{'acked/s':>9}{'deliv/s':>9}{'on time':>9}{'p50 ms':>8}"
            f"{'p99 ms':>8}{'ack p99':>9}{'CPU':>6}{'µs/deliv':>10}  verdict"
        )
        for s in rows:
            verdict = "kept up" if s.kept_up else "fell behind"
            if s.label:
                verdict += f" ({s.label})"
            print(
                f"{s.rate:>6.0f}{s.sent / s.seconds:>8.0f}{s.acked_on_time / s.seconds:>9.0f}"
                f"{s.by_end / s.seconds:>9.0f}{100 * s.on_time / max(1, s.expected):>8.1f}%"
                f"{s.latency.percentile(50):>8.1f}{s.latency.percentile(99):>8.1f}"
                f"{s.ack_p99:>9.1f}{100 * s.server_load:>5.0f}%"
                f"{s.cpu / max(1, s.delivered) * 1e6:>10.0f}  {verdict}"
            )

    def best(target: str) -> Step | None:
        kept = [s for s in steps if s.target == target and s.kept_up]
        return max(kept, key=lambda s: s.rate) if kept else None

    def peak(target: str) -> float:
        return max((s.by_end / s.seconds for s in steps if s.target == target), default=0.0)

    print()
    ours, theirs = best("backchannel"), best("socketio")
    for target, top in (("backchannel", ours), ("socketio", theirs)):
        if top is None:
            print(f"{names[target]}: kept up with no rate")
            continue
        at80 = [s for s in steps if s.target == target and s.label == "80% of top"]
        if at80:
            latency = at80[0].latency
            p = f"p50 {latency.percentile(50):.1f} ms, p99 {latency.percentile(99):.1f} ms"
        else:
            p = "not measured"
        at_least = "≥ " if top.rate == max(s.rate for s in steps) else ""  # never fell behind
        print(
            f"{names[target]}: top sustainable rate {at_least}{top.rate:.0f} msg/s "
            f"({top.by_end / top.seconds:.0f} deliveries/s); at 80% of it: {p}"
        )
    if ours and theirs:
        ratio = (ours.by_end / ours.seconds) / (theirs.by_end / theirs.seconds)
        print(f"sustained deliveries/s, Backchannel ÷ python-socketio: {ratio:.2f}x")
    if peak("socketio"):
        print(
            f"peak deliveries/s at any rate, Backchannel ÷ python-socketio: "
            f"{peak('backchannel') / peak('socketio'):.2f}x"
        )


# --- idle connections ----------------------------------------------------------------------------


def idle_main(
    pipe: Connection, url: str, tokens: list[str], rate: float, concurrency: int, budget: float
) -> None:
    raise_fd_limit()
    asyncio.run(_idle(pipe, url, tokens, rate, concurrency, budget))


async def _idle(
    pipe: Connection,
    url: str,
    tokens: list[str],
    rate: float,
    concurrency: int,
    budget: float,
) -> None:
    """Open a session per token (at most ``rate``/s, ``concurrency`` at once, for ``budget`` s),
    report, hold them until told to stop, then close them."""
    from websockets.protocol import State

    sockets: list[ClientConnection] = []
    failures: list[str] = []
    limit = asyncio.Semaphore(concurrency)
    start = time.perf_counter()
    deadline = start + budget

    async def one(i: int, token: str) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        async with limit:
            if time.perf_counter() > deadline:
                return
            try:
                sockets.append(await backchannel_session(url, token, None))
            except Exception as exc:
                failures.append(repr(exc)[:200])

    await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))
    pipe.send((len(sockets), failures[:3], len(failures), time.perf_counter() - start))
    await receive(pipe)  # "stop"
    pipe.send(sum(ws.state is State.OPEN for ws in sockets))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(20):
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def idle(bc: Backchannel, work: Path, args: argparse.Namespace) -> None:
    n, procs = args.idle, max(1, min(args.idle_processes, args.idle))
    print(
        f"\nidle: {n} authenticated connections to one server process, from {procs} client "
        f"processes, {args.idle_concurrency} authentications in flight, at most "
        f"{args.idle_rate:.0f}/s, within {args.idle_seconds:.0f} s"
    )
    tokens = [bc.token(f"idle-{i}") for i in range(n)]
    with bc.serve(work, "idle.log") as server:
        url = ws_url("backchannel", server.port)

        async def warm() -> None:  # one session first: lazy imports, pools, caches
            ws = await backchannel_session(url, bc.token("warm-up"), None)
            await ws.close()

        asyncio.run(warm())
        time.sleep(0.5)
        before, cpu = server.rss(), server.cpu()
        context = multiprocessing.get_context("spawn")
        per = -(-n // procs)
        pipes, children = [], []
        for i in range(0, n, per):
            ours, theirs = context.Pipe()
            child = context.Process(
                target=idle_main,
                args=(
                    theirs,
                    url,
                    tokens[i : i + per],
                    args.idle_rate / procs,
                    max(1, args.idle_concurrency // procs),
                    args.idle_seconds,
                ),
                daemon=True,
            )
            child.start()
            pipes.append(ours)
            children.append(child)
        try:
            opened = failed = 0
            slowest = 0.0
            for pipe in pipes:
                if not pipe.poll(args.idle_seconds + 120):
                    raise RuntimeError("an idle client process did not report in time")
                count, examples, failures, elapsed = pipe.recv()
                opened, failed, slowest = opened + count, failed + failures, max(slowest, elapsed)
                for example in examples:
                    print(f"  failed: {example}")
            cpu = server.cpu() - cpu
            time.sleep(2)
            after = server.rss()
            for pipe in pipes:
                pipe.send("stop")
            alive = sum(pipe.recv() for pipe in pipes if pipe.poll(60))
            print(
                f"  {opened} opened ({failed} failed) in {slowest:.1f} s: "
                f"{opened / slowest:.0f} authentications/s, server CPU "
                f"{cpu / max(1, opened) * 1e3:.1f} ms each; {alive} still open at the end"
            )
            each = (after - before) / max(1, opened)
            print(
                f"  server RSS (VmRSS): {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB "
                f"with {opened} connections: {each / 1024:.1f} KiB each"
            )
            if opened < n:
                print(
                    f"  only {opened} of {n} opened within {args.idle_seconds:.0f} s; at "
                    f"{each / 1024:.1f} KiB each, {n} would take about "
                    f"{(before + each * n) / 2**20:.0f} MiB (raise --idle-seconds to measure it)"
                )
            verdict = "met" if after < 2**30 and opened == n else "NOT met"
            if opened < n:
                verdict = "not measured"
            print(f"  goal: {n} idle connections under 1024 MiB: {verdict}")
        finally:
            for child in children:
                child.join(timeout=30)
                if child.is_alive():
                    child.kill()
                    child.join()


# --- main ----------------------------------------------------------------------------------------


def run(database_url: str, work: Path, args: argparse.Namespace) -> None:
    bc = Backchannel.init(database_url, work)
    if not args.skip_broadcast:
        peer_port = free_port()
        peer = [sys.executable, __file__, "--socketio-server", "--port", str(peer_port)]
        with (
            bc.serve(work, "backchannel.log") as ours,
            server_process(
                "python-socketio",
                peer,
                bc.env,
                work / "socketio.log",
                socketio_ready_url(peer_port),
                peer_port,
            ) as theirs,
        ):
            if args.clients + 1 > 250:
                bc.raise_member_limit(ours.port, args.clients + 1)
            steps = asyncio.run(broadcast(ours, theirs, bc, args))
        report_broadcast(steps, args.clients)
    if args.idle > 0:
        idle(bc, work, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100, help="receivers in the channel")
    parser.add_argument(
        "--steps",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[float(r) for r in DEFAULT_STEPS.split(",")],
        help="rising send rates, messages/s (comma-separated)",
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=5.0,
        help=f"over {CATCH_UP:.0f}, the receivers parse what they read during a step, too",
    )
    parser.add_argument(
        "--senders", type=int, default=1, help="sender connections sharing each rate"
    )
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--idle", type=int, default=10_000, help="idle connections (0: skip)")
    parser.add_argument("--idle-processes", type=int, default=4)
    parser.add_argument("--idle-rate", type=float, default=500.0, help="connections opened/s")
    parser.add_argument(
        "--idle-concurrency", type=int, default=2, help="authentications in flight, in all"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=90.0, help="time allowed to open them"
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--skip-broadcast", action="store_true")
    parser.add_argument("--socketio-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.socketio_server:  # the peer's own process
        run_socketio_server(args.port)
        return

    print(
        f"{args.clients} receivers, {args.senders} sender(s), rates "
        f"{', '.join(f'{r:.0f}' for r in args.steps)} msg/s for {args.step_seconds:.0f} s each, "
        f"database {args.database}; {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="backchannel-bench-") as tmp:
        work = Path(tmp)
        if args.database == "sqlite":
            run(f"sqlite:///{work / 'bench.db'}", work, args)
        else:
            with postgres_database() as url:
                if url is None:
                    raise SystemExit("--database postgresql needs PostgreSQL on 127.0.0.1:5432")
                run(url, work, args)


if __name__ == "__main__":
    main()
