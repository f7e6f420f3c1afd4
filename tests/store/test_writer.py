"""Store.write: synchronous write transactions, and the batch insert of messages it runs.

The live message writer stores a batch of sends with ``messages.create_messages`` inside
``Store.write``. On a SQLite file that transaction runs on the event loop and takes the write
lock without waiting; while another connection holds it, the writer must sleep (not block the
loop) and try again, and give up after ``SQLITE_BUSY_TIMEOUT_MS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from backchannel.chat import channels as channel_rules
from backchannel.chat import messages as message_rules
from backchannel.chat.errors import ChannelNotFoundError
from backchannel.chat.sids import MESSAGE, is_sid
from backchannel.config import Config
from backchannel.store import Store, accounts, channels, db, services
from backchannel.store import messages as message_store
from backchannel.store.clock import utcnow
from backchannel.store.tables import messages as messages_table

StoreFactory = Callable[[], AbstractAsyncContextManager[Store]]


@pytest.fixture
def sqlite_store_factory(tmp_path: Path, master_key: str) -> tuple[StoreFactory, Path]:
    """A store on a SQLite file of this test's own, and the file (for a second connection)."""
    path = tmp_path / "writer.db"

    @asynccontextmanager
    async def open_store() -> AsyncIterator[Store]:
        store = Store.from_config(Config(database_url=f"sqlite:///{path}", master_key=master_key))
        try:
            await store.migrate()
            yield store
        finally:
            await store.close()

    return open_store, path


async def new_channel(store: Store) -> tuple[str, str]:
    """A channel of a new service of a new account: (service SID, channel SID)."""
    async with store.transaction() as conn:
        account = await accounts.create_account(conn, "writer")
        service = await services.create_service(conn, account.account.sid, "writer")
        values = channel_rules.creation({"FriendlyName": ["room"]}, utcnow())
        channel = await channels.create_channel(conn, service["sid"], values)
    return service["sid"], channel["sid"]


def new_message(body: str, author: str = "alice", key: str | None = None) -> dict[str, Any]:
    """The columns of a message as a live send makes them (but SID, channel and index)."""
    params = {"Body": [body], "Attributes": ['{"n": "' + body + '"}']}
    return {**message_rules.new_message(params, utcnow()), "from": author, "key": key}


async def stored(store: Store, channel_sid: str) -> list[dict[str, Any]]:
    """The channel's messages as the database has them, by index."""
    async with store.transaction() as conn:
        page, _ = await message_store.list_messages(conn, channel_sid, size=1000)
    return page


async def channel_row(store: Store, service_sid: str, channel_sid: str) -> dict[str, Any]:
    async with store.transaction() as conn:
        channel = await channels.get_channel(conn, service_sid, channel_sid)
    assert channel is not None
    return channel


def test_create_messages_stores_a_batch_at_the_channels_end(store_factory: StoreFactory) -> None:
    """A batch takes the next consecutive indexes after the messages already there, in the
    order given, is counted into the channel, and comes back exactly as it reads back."""

    async def scenario() -> None:
        async with store_factory() as store:
            service_sid, channel_sid = await new_channel(store)
            async with store.transaction() as conn:
                for body in ("one", "two"):
                    await message_store.create_message(
                        conn, service_sid, channel_sid, new_message(body, "bob")
                    )
            batch = [
                new_message("a"),
                new_message("b", key="k-1"),
                new_message("c", "carol"),
                new_message("d", key="k-2"),
                new_message("e"),
            ]
            created = await store.write(
                message_store.create_messages, service_sid, channel_sid, batch
            )

            assert [row["index"] for row in created] == [2, 3, 4, 5, 6]
            assert [row["body"] for row in created] == ["a", "b", "c", "d", "e"]
            assert [row["key"] for row in created] == [None, "k-1", None, "k-2", None]
            assert len({row["sid"] for row in created}) == 5
            async with store.transaction() as conn:
                for row in created:
                    assert await message_store.get_message(conn, channel_sid, row["sid"]) == row
            assert [m["index"] for m in await stored(store, channel_sid)] == list(range(7))
            channel = await channel_row(store, service_sid, channel_sid)
            assert channel["messages_count"] == 7
            assert channel["next_message_index"] == 7
            assert channel["last_message_sid"] == created[-1]["sid"]

            # The next batch goes on from there.
            more = await store.write(
                message_store.create_messages, service_sid, channel_sid, [new_message("f")]
            )
            assert [row["index"] for row in more] == [7]

    asyncio.run(scenario())


def test_create_messages_refuses_a_channel_of_another_service(
    store_factory: StoreFactory,
) -> None:
    """A channel SID of another service is not found, and nothing is stored in it."""

    async def scenario() -> None:
        async with store_factory() as store:
            _, channel_sid = await new_channel(store)
            other_service, _ = await new_channel(store)
            with pytest.raises(ChannelNotFoundError):
                await store.write(
                    message_store.create_messages, other_service, channel_sid, [new_message("x")]
                )
            assert await stored(store, channel_sid) == []

    asyncio.run(scenario())


def test_a_key_sent_twice_in_one_batch_raises_sqlalchemys_integrity_error(
    store_factory: StoreFactory,
) -> None:
    """The batch's statements run on the driver's cursor (``db.fetch``, ``db.execute_many``),
    but a violated constraint still raises SQLAlchemy's ``IntegrityError``, which a send by
    key catches to find the message a concurrent retry stored. The error does not quote the
    messages, and nothing of the batch is kept."""

    async def scenario() -> None:
        async with store_factory() as store:
            service_sid, channel_sid = await new_channel(store)
            batch = [new_message("secret one", key="k"), new_message("secret two", key="k")]
            with pytest.raises(IntegrityError) as caught:
                await store.write(message_store.create_messages, service_sid, channel_sid, batch)
            assert "secret" not in str(caught.value)
            assert await stored(store, channel_sid) == []
            channel = await channel_row(store, service_sid, channel_sid)
            assert (channel["messages_count"], channel["next_message_index"]) == (0, 0)

    asyncio.run(scenario())


def test_a_failing_write_rolls_back_and_the_writer_goes_on(store_factory: StoreFactory) -> None:
    """Whatever a write wrote before it raised is gone (the messages and the indexes they took),
    and the next write works."""

    async def scenario() -> None:
        async with store_factory() as store:
            service_sid, channel_sid = await new_channel(store)

            def store_then_fail(conn: Connection) -> None:
                message_store.create_messages(
                    conn, service_sid, channel_sid, [new_message("lost"), new_message("lost too")]
                )
                raise RuntimeError("the batch fails")

            with pytest.raises(RuntimeError, match="the batch fails"):
                await store.write(store_then_fail)

            assert await stored(store, channel_sid) == []
            channel = await channel_row(store, service_sid, channel_sid)
            assert (channel["messages_count"], channel["next_message_index"]) == (0, 0)

            created = await store.write(
                message_store.create_messages, service_sid, channel_sid, [new_message("kept")]
            )
            assert [(m["index"], m["body"]) for m in created] == [(0, "kept")]
            assert await stored(store, channel_sid) == created

    asyncio.run(scenario())


def test_concurrent_writes_never_share_an_index(store_factory: StoreFactory) -> None:
    """Batches through the writer and single messages through ordinary transactions, all at
    once on one channel: every message gets its own index, none is skipped."""

    async def scenario() -> None:
        async with store_factory() as store:
            service_sid, channel_sid = await new_channel(store)

            async def batch(n: int) -> None:
                values = [new_message(f"batch {n}.{i}") for i in range(5)]
                await store.write(message_store.create_messages, service_sid, channel_sid, values)

            async def single(n: int) -> None:
                async with store.transaction() as conn:
                    await message_store.create_message(
                        conn, service_sid, channel_sid, new_message(f"single {n}")
                    )

            await asyncio.gather(*(batch(n) for n in range(6)), *(single(n) for n in range(6)))

            rows = await stored(store, channel_sid)
            assert [row["index"] for row in rows] == list(range(36))
            for n in range(6):  # each batch in its own order, without another inside it
                indexes = [r["index"] for r in rows if r["body"].startswith(f"batch {n}.")]
                assert indexes == list(range(indexes[0], indexes[0] + 5))
            channel = await channel_row(store, service_sid, channel_sid)
            assert channel["messages_count"] == 36

    asyncio.run(scenario())


class _Ticker:
    """Notes the time every ~10 ms while it runs: a blocked event loop shows up as a gap."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def between(self, start: float, end: float) -> list[float]:
        return [t for t in self.ticks if start <= t <= end]


def _lock(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection holding the database's write lock."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_sqlite_write_waits_for_the_lock_without_blocking_the_event_loop(
    sqlite_store_factory: tuple[StoreFactory, Path],
) -> None:
    """While another connection holds the write lock for 0.3 s, a write waits for it — and the
    event loop keeps running meanwhile — then commits."""
    factory, path = sqlite_store_factory

    async def scenario() -> None:
        async with factory() as store:
            service_sid, channel_sid = await new_channel(store)
            ticker = _Ticker()
            ticker.start()
            await asyncio.sleep(0.05)
            holder = _lock(path)
            # Released from another thread: a write that blocked the loop would still end.
            release = threading.Timer(0.3, holder.execute, args=["COMMIT"])
            try:
                release.start()
                started = time.monotonic()
                created = await store.write(
                    message_store.create_messages, service_sid, channel_sid, [new_message("x")]
                )
                ended = time.monotonic()
            finally:
                release.join()
                holder.close()
            await asyncio.sleep(0.05)
            await ticker.stop()

            assert ended - started >= 0.25, "the write did not wait for the lock"
            during = ticker.between(started, ended)
            assert len(during) >= 10, during
            around = ticker.between(started - 0.05, ended + 0.05)
            gap = max(b - a for a, b in itertools.pairwise(around))
            assert gap < 0.15, f"the event loop stood still for {gap:.3f} s"
            assert await stored(store, channel_sid) == created

    asyncio.run(scenario())


def test_sqlite_write_gives_up_after_the_busy_timeout(
    sqlite_store_factory: tuple[StoreFactory, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock that is never released: the write raises once its deadline has passed, having
    written nothing; once the lock is free, writes work again."""
    factory, path = sqlite_store_factory

    async def scenario() -> None:
        async with factory() as store:
            service_sid, channel_sid = await new_channel(store)
            monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)
            holder = _lock(path)
            try:
                started = time.monotonic()
                with pytest.raises(OperationalError, match="locked"):
                    await store.write(
                        message_store.create_messages, service_sid, channel_sid, [new_message("x")]
                    )
                waited = time.monotonic() - started
            finally:
                holder.execute("ROLLBACK")
                holder.close()

            assert 0.3 <= waited < 2.0, waited
            assert await stored(store, channel_sid) == []
            async with store.transaction() as conn:
                count = await conn.execute(select(func.count()).select_from(messages_table))
                assert count.scalar_one() == 0
            created = await store.write(
                message_store.create_messages, service_sid, channel_sid, [new_message("y")]
            )
            assert [m["index"] for m in created] == [0]

    asyncio.run(scenario())


async def _checkpoint_over(store: Store) -> None:
    """Wait until the writer has no checkpoint running or due. Its rows are in the database
    file before it is over: it ends by marking the WAL copied, which is what lets the next write
    start the WAL over."""
    writer = store._writer
    deadline = time.monotonic() + 10
    while writer._checkpoint_timer is not None or not (
        writer._checkpoint is None or writer._checkpoint.done()
    ):
        assert time.monotonic() < deadline, "the checkpoint did not end"
        await asyncio.sleep(0.01)


def _rows_in_database_file(path: Path, copy: Path) -> int:
    """Messages in the database file itself, leaving out what only its WAL holds (a copy of the
    file alone is opened). A copy taken while a checkpoint (on its thread) is writing the file
    can be torn; it is taken again."""
    for attempt in itertools.count():
        shutil.copyfile(path, copy)
        try:
            with contextlib.closing(sqlite3.connect(copy)) as conn:
                tables = conn.execute("SELECT name FROM sqlite_master WHERE name = 'messages'")
                if tables.fetchone() is None:  # the schema itself is still only in the WAL
                    return 0
                return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
        except sqlite3.DatabaseError:
            if attempt >= 50:
                raise
            time.sleep(0.02)
    raise AssertionError("unreachable")


def test_sqlite_writes_are_checkpointed_off_the_loop_not_by_their_commits(
    sqlite_store_factory: tuple[StoreFactory, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's commits do not checkpoint the WAL (that waits for the disk, on the event
    loop): between two of its checkpoints the WAL grows past SQLite's own threshold of 1,000
    pages. Once the interval has passed, the next commit has the WAL copied into the database
    file by a checkpoint of its own, and every message is there."""
    factory, path = sqlite_store_factory
    wal = path.with_name(path.name + "-wal")
    page_size = 4096

    async def scenario() -> None:
        async with factory() as store:
            service_sid, channel_sid = await new_channel(store)
            monkeypatch.setattr(db, "CHECKPOINT_INTERVAL", 3600.0)
            batch = [new_message("x" * 2000) for _ in range(100)]
            for _ in range(30):  # about 6 MB: 1,500 pages and more
                await store.write(message_store.create_messages, service_sid, channel_sid, batch)
            assert wal.stat().st_size > 1200 * page_size
            assert _rows_in_database_file(path, path.with_name("copy.db")) < 3000

            monkeypatch.setattr(db, "CHECKPOINT_INTERVAL", 0.1)
            await asyncio.sleep(0.2)
            await store.write(message_store.create_messages, service_sid, channel_sid, batch)
            deadline = time.monotonic() + 10
            while _rows_in_database_file(path, path.with_name("copy.db")) < 3100:
                assert time.monotonic() < deadline, "the WAL was not checkpointed"
                await asyncio.sleep(0.05)

    asyncio.run(scenario())


def test_message_sids_are_twilio_sids_that_sort_in_the_order_they_were_made(
    store_factory: StoreFactory,
) -> None:
    """Message SIDs keep Twilio's form (IM and 32 hex digits, as twilio-python's paths expect)
    and are all different; those of a later batch sort after those of an earlier one, so the
    SID index of a growing table is appended to."""

    async def scenario() -> None:
        async with store_factory() as store:
            service_sid, channel_sid = await new_channel(store)
            batches = []
            for _ in range(3):
                values = [new_message(f"m{n}") for n in range(50)]
                write = message_store.create_messages
                batches.append(await store.write(write, service_sid, channel_sid, values))
                await asyncio.sleep(0.002)
            sids = [[row["sid"] for row in batch] for batch in batches]
            every = [sid for batch in sids for sid in batch]
            assert all(is_sid(sid, MESSAGE) for sid in every)
            assert len(set(every)) == len(every)
            assert max(sids[0]) < min(sids[1]) and max(sids[1]) < min(sids[2])
            assert [m["sid"] for m in await stored(store, channel_sid)] == every

    asyncio.run(scenario())


def test_sqlite_the_wal_is_checkpointed_in_full_after_a_burst_and_then_reused(
    sqlite_store_factory: tuple[StoreFactory, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of writes shorter than the checkpoint interval still has its WAL copied into the
    database file once it ends, with no write to trigger it; the next burst then starts the WAL
    over instead of making it longer, so bursts with pauses between them never grow it."""
    factory, path = sqlite_store_factory
    wal = path.with_name(path.name + "-wal")

    async def burst(store: Store, service_sid: str, channel_sid: str) -> None:
        batch = [new_message("x" * 2000) for _ in range(100)]
        for _ in range(10):  # about 2 MB, quicker than the interval
            await store.write(message_store.create_messages, service_sid, channel_sid, batch)

    async def scenario() -> None:
        async with factory() as store:
            service_sid, channel_sid = await new_channel(store)
            monkeypatch.setattr(db, "CHECKPOINT_INTERVAL", 1.0)
            await asyncio.sleep(1.1)  # the interval since the checkpoint of new_channel's writes
            sizes = []
            for rows in (1000, 2000, 3000):
                await burst(store, service_sid, channel_sid)
                deadline = time.monotonic() + 10
                while _rows_in_database_file(path, path.with_name("copy.db")) < rows:
                    assert time.monotonic() < deadline, "the end of the burst was not checkpointed"
                    await asyncio.sleep(0.05)
                await _checkpoint_over(store)
                sizes.append(wal.stat().st_size)
            assert sizes[2] <= sizes[0] * 1.2, sizes

    asyncio.run(scenario())


def _wal_generation(wal: Path) -> int:
    """The checkpoint sequence number in the WAL's header, which SQLite counts up each time it
    starts the WAL over (https://www.sqlite.org/fileformat2.html#walformat)."""
    with wal.open("rb") as file:
        return int.from_bytes(file.read(16)[12:16], "big")


def test_sqlite_the_wal_is_started_over_under_a_steady_load(
    sqlite_store_factory: tuple[StoreFactory, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under writes that never pause for long (a busy channel), checkpoints catch up with the
    writer, so the WAL is started over from its beginning again and again instead of growing
    by every commit. (With one pass a checkpoint it was started over once at most here, and
    grew to about 90 MB in the three seconds.)"""
    factory, path = sqlite_store_factory
    wal = path.with_name(path.name + "-wal")

    async def scenario() -> None:
        async with factory() as store:
            service_sid, channel_sid = await new_channel(store)
            monkeypatch.setattr(db, "CHECKPOINT_INTERVAL", 0.25)
            batch = [new_message("x" * 1000) for _ in range(20)]
            generations = set()
            start = time.monotonic()
            while time.monotonic() - start < 3.0:  # twelve intervals
                await store.write(message_store.create_messages, service_sid, channel_sid, batch)
                generations.add(_wal_generation(wal))
                await asyncio.sleep(0.003)
            assert len(generations) >= 5, generations

    asyncio.run(scenario())


def test_on_postgresql_the_writer_recovers_from_losing_its_connection(
    store_factory: StoreFactory, database_url: str
) -> None:
    """The writer keeps a connection of its own on a database server: once the server ends it
    (a restart, an administrator), at most one write fails, and the next ones run on a fresh
    connection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a connection of its own is what the writer keeps on a database server")

    def backend(conn: Connection) -> int:
        return int(conn.execute(select(func.pg_backend_pid())).scalar_one())

    async def scenario() -> None:
        async with store_factory() as store:
            service_sid, channel_sid = await new_channel(store)
            first = await store.write(backend)
            assert await store.write(backend) == first  # kept, not taken from the pool again
            async with store.transaction() as conn:
                await conn.execute(select(func.pg_terminate_backend(first)))
            with contextlib.suppress(Exception):  # at most this write fails: it finds out
                await store.write(backend)
            assert await store.write(backend) != first
            created = await store.write(
                message_store.create_messages, service_sid, channel_sid, [new_message("after")]
            )
            assert await stored(store, channel_sid) == created

    asyncio.run(scenario())
