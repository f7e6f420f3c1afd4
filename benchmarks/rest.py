"""Message creates per second and list latency through the REST API, on SQLite and PostgreSQL.

    python benchmarks/rest.py [--clients 8] [--messages 2000] [--lists 400] [--seconds 60]
                              [--rounds 4] [--backends sqlite,postgresql]

For each database it starts two servers on free ports of 127.0.0.1, as subprocesses under the
same uvicorn settings as ``backchannel serve``:

- Backchannel itself (``backchannel init --env-file`` then ``backchannel serve``);
- the floor: a bare Starlette app (below) that parses the form the same way
  (``backchannel.api.calls.read_params``) and writes one row per POST with the same engine
  (``backchannel.store.db.create_engine``: same driver, same SQLite pragmas), and lists 50 rows
  newest first by keyset. No authentication, no validation, no counters, no rendering.

``--clients`` concurrent clients (httpx, keep-alive) POST ``--messages`` messages to one channel,
then walk the channel's list newest first in pages of 50 (``Order=desc``, following
``next_page_url``) for ``--lists`` requests; each phase also stops after ``--seconds``. Each
phase runs in ``--rounds`` slices and the two servers take turns slice by slice, so machine noise
hits both alike. SQLite runs on a temporary file; PostgreSQL (127.0.0.1:5432, user postgres) on
a fresh database dropped afterwards (skipped when unreachable). The ratios show Backchannel's
cost over the floor. The clients run on the same machine, so on a small one they take CPU from
the server: the figures are a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backchannel.api.calls import read_params
from backchannel.store.db import create_engine
from harness import free_port, postgres_database, read_env_file, server_process

UVICORN = {"lifespan": "on", "ws": "none", "log_level": "info", "proxy_headers": False}
PAGE = 50


# --- the floor: a bare insert endpoint -------------------------------------------------------


def floor_app(database_url: str) -> Starlette:
    """One table, one row per POST, one keyset page per GET; nothing else."""
    metadata = MetaData()
    rows = Table(
        "bench_floor",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("sid", String(34), nullable=False),
        Column("body", Text, nullable=False),
        Column("author", String(256), nullable=True),
    )
    engine = create_engine(database_url)

    async def create(request: Request) -> Response:
        params = await read_params(request)
        body = params.get("Body", [""])[-1]
        author = params.get("From", [None])[-1]
        async with engine.begin() as conn:
            await conn.execute(
                insert(rows).values(sid="IM" + secrets.token_hex(16), body=body, author=author)
            )
        return JSONResponse({"sid": "ok"}, status_code=201)

    async def list_(request: Request) -> Response:
        params = await read_params(request)
        query = select(rows).order_by(rows.c.id.desc()).limit(PAGE)
        if "Before" in params:
            query = query.where(rows.c.id < int(params["Before"][-1]))
        async with engine.begin() as conn:
            page = [dict(r) for r in (await conn.execute(query)).mappings()]
        last = page[-1]["id"] if len(page) == PAGE else None
        url = f"{request.url.path}?Before={last}" if last else None
        return JSONResponse({"messages": page, "meta": {"next_page_url": url}})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    return Starlette(
        routes=[Route("/messages", create, methods=["POST"]), Route("/messages", list_)],
        lifespan=lifespan,
    )


def run_floor(database_url: str, port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app(database_url), host="127.0.0.1", port=port, **UVICORN)


# --- servers ---------------------------------------------------------------------------------


def backchannel(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "backchannel", *args]


# --- load ------------------------------------------------------------------------------------


@dataclass
class Phase:
    """Latencies (seconds) of the requests of one phase and its wall time."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(p) - 1]


async def drive(
    clients: list[httpx.AsyncClient],
    total: int,
    seconds: float,
    step: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
) -> Phase:
    """``total`` calls of ``step`` spread over the clients, stopping early after ``seconds``."""
    phase = Phase()
    counter = iter(range(total))
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        for n in counter:
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            response = await step(client, n)
            elapsed = time.perf_counter() - start
            if response.is_success:
                phase.latencies.append(elapsed)
            else:
                phase.errors += 1
                if phase.errors == 1:
                    print(f"  error {response.status_code}: {response.text[:200]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    phase.wall = time.perf_counter() - start
    return phase


@dataclass
class Target:
    """One server under load: where its messages are and how it is reached."""

    name: str
    base_url: str
    messages_path: str
    auth: tuple[str, str] | None = None
    next_urls: dict[int, str | None] = field(default_factory=dict)

    def clients(self, n: int) -> list[httpx.AsyncClient]:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return [
            httpx.AsyncClient(base_url=self.base_url, auth=self.auth, limits=limits, timeout=60)
            for _ in range(n)
        ]

    async def create(self, client: httpx.AsyncClient, n: int) -> httpx.Response:
        form = {"Body": f"message {n} " + "x" * 40, "From": f"user{n % 8}"}
        return await client.post(self.messages_path, data=form)

    async def list_page(self, client: httpx.AsyncClient, _n: int) -> httpx.Response:
        """The next page of this client's walk, newest first; back to the top at the end."""
        key = id(client)
        url = self.next_urls.get(key) or f"{self.messages_path}?Order=desc&PageSize={PAGE}"
        response = await client.get(url)
        if response.is_success:
            self.next_urls[key] = response.json()["meta"]["next_page_url"]
        return response


def merge(phases: list[Phase]) -> Phase:
    merged = Phase()
    for phase in phases:
        merged.latencies += phase.latencies
        merged.wall += phase.wall
        merged.errors += phase.errors
    return merged


async def measure(targets: list[Target], args: argparse.Namespace) -> dict[str, Phase]:
    """Each phase in ``--rounds`` slices, the servers taking turns slice by slice."""
    runs: dict[str, list[Phase]] = {}
    pools = {t.name: t.clients(args.clients) for t in targets}
    budget = args.seconds / args.rounds
    try:
        for target in targets:  # warm-up: connections, caches, query plans
            await drive(pools[target.name], 4 * args.clients, budget, target.create)
        for op, total in (("create", args.messages), ("list", args.lists)):
            for _ in range(args.rounds):
                for target in targets:
                    step = target.create if op == "create" else target.list_page
                    phase = await drive(pools[target.name], total // args.rounds, budget, step)
                    runs.setdefault(f"{target.name} {op}", []).append(phase)
    finally:
        for pool in pools.values():
            for client in pool:
                await client.aclose()
    return {name: merge(phases) for name, phases in runs.items()}


def bench_backend(database_url: str, work: Path, args: argparse.Namespace) -> dict[str, Phase]:
    env = {
        **os.environ,
        "BACKCHANNEL_DATABASE_URL": database_url,
        "BACKCHANNEL_MASTER_KEY_FILE": str(work / "master.key"),
    }
    env.pop("BACKCHANNEL_PUBLIC_URL", None)
    env_file = work / "backchannel.env"
    subprocess.run(  # noqa: S603
        backchannel(["init", "--env-file", str(env_file)]), env=env, check=True, capture_output=True
    )
    creds = read_env_file(env_file)
    ours, floor = free_port(), free_port()
    ours_url, floor_url = f"http://127.0.0.1:{ours}", f"http://127.0.0.1:{floor}"
    serve = backchannel(["serve", "--host", "127.0.0.1", "--port", str(ours)])
    peer = [sys.executable, __file__, "--floor", database_url, "--port", str(floor)]
    with (
        server_process(
            "backchannel", serve, env, work / "backchannel.log", f"{ours_url}/healthz", ours
        ),
        server_process("floor", peer, env, work / "floor.log", f"{floor_url}/messages", floor),
    ):
        auth = (creds["TWILIO_ACCOUNT_SID"], creds["TWILIO_AUTH_TOKEN"])
        service = creds["TWILIO_CHAT_SERVICE_SID"]
        created = httpx.post(
            f"{ours_url}/v2/Services/{service}/Channels",
            data={"FriendlyName": "bench"},
            auth=auth,
        )
        created.raise_for_status()
        channel = created.json()["sid"]
        targets = [
            Target(
                "backchannel",
                ours_url,
                f"/v2/Services/{service}/Channels/{channel}/Messages",
                auth,
            ),
            Target("floor", floor_url, "/messages"),
        ]
        return asyncio.run(measure(targets, args))


# --- report ----------------------------------------------------------------------------------


def report(backend: str, phases: dict[str, Phase]) -> None:
    print(f"\n{backend}")
    print(f"{'':<20}{'requests':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, phase in phases.items():
        print(
            f"{name:<20}{len(phase.latencies):>9}{phase.rate:>9.0f}"
            f"{phase.percentile(50) * 1e3:>9.1f}{phase.percentile(99) * 1e3:>9.1f}"
            f"{phase.errors:>8}"
        )
    for op in ("create", "list"):
        ours, floor = phases[f"backchannel {op}"], phases[f"floor {op}"]
        print(
            f"{op}: Backchannel does {ours.rate / floor.rate:.2f}x the floor's requests/s; "
            f"p50 {ours.percentile(50) / floor.percentile(50):.2f}x, "
            f"p99 {ours.percentile(99) / floor.percentile(99):.2f}x the floor's latency"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--lists", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=60.0, help="limit of each phase")
    parser.add_argument("--rounds", type=int, default=4, help="slices each phase is run in")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--floor", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:  # the peer's own process
        run_floor(args.floor, args.port)
        return

    print(
        f"{args.clients} clients, {args.messages} creates then {args.lists} list pages "
        f"of {PAGE} (Order=desc), each phase at most {args.seconds:.0f} s; {os.cpu_count()} CPUs"
    )
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="backchannel-bench-") as tmp:
            work = Path(tmp)
            if backend == "sqlite":
                report(backend, bench_backend(f"sqlite:///{work / 'bench.db'}", work, args))
            elif backend == "postgresql":
                with postgres_database() as url:
                    if url is not None:
                        report(backend, bench_backend(url, work, args))
            else:
                parser.error(f"unknown backend {backend!r}")


if __name__ == "__main__":
    main()
