"""The database: an async engine for SQLite or PostgreSQL, and migrations applied on start.

SQLite runs in WAL mode with foreign keys on and a busy timeout; every transaction begins
``IMMEDIATE``, so concurrent writers queue on the lock instead of failing on upgrade.

``Writer`` runs short write transactions given as synchronous functions: on PostgreSQL through
the async engine, on SQLite on the event loop itself (see its docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from backchannel.config import async_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
CHECKPOINT_INTERVAL = 1.0  # seconds, at least, between checkpoints of the writer's commits
CHECKPOINT_ROUNDS = 8  # passes of one checkpoint, at most, to catch up with the writer
T = TypeVar("T")


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine for a plain or async database URL."""
    url = async_url(database_url)
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    _configure_sqlite_connections(engine.sync_engine, SQLITE_BUSY_TIMEOUT_MS)


def _configure_sqlite_connections(
    engine: Engine, busy_timeout_ms: int, *, checkpoints: bool = True
) -> None:
    """Pragmas for every connection; without ``checkpoints`` its commits never checkpoint the
    WAL (someone else must)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE can be issued below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema up to the newest revision; a no-op when it already is."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction: committed when the block ends, rolled back if it raises."""
    async with engine.begin() as conn:
        yield conn


@functools.lru_cache(maxsize=32)
def _compiled(
    statement: ClauseElement, dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    """``statement``'s SQL for ``dialect``, the names of its parameters in order (both drivers,
    pysqlite and asyncpg, take them by position), and the conversion of those whose values
    need one (their type's bind processor, by position)."""
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    assert compiled.positiontup is not None
    names = tuple(compiled.positiontup)
    processors = []
    for position, name in enumerate(names):
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((position, process))
    return compiled.string, names, tuple(processors)


def _positional(
    statement: ClauseElement, dialect: Dialect, rows: Iterable[Mapping[str, Any]]
) -> tuple[str, list[tuple[Any, ...]]]:
    """The SQL and the parameters of each row by position, each distinct value that needs
    converting converted once (the rows of a batch share their dates)."""
    sql, names, processors = _compiled(statement, dialect)
    params = [[row[name] for name in names] for row in rows]
    for position, process in processors:
        converted: dict[Any, Any] = {}
        for values in params:
            value = values[position]
            if value not in converted:
                converted[value] = process(value)
            values[position] = converted[value]
    return sql, [tuple(values) for values in params]


def fetch(conn: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> list[Any]:
    """Run ``statement`` on the driver's own cursor and return its rows, as the driver gives
    them (tuples, values unconverted): for the live writer's statements, which run for every
    batch and take plain values. SQLAlchemy's execution of a statement costs about 40 µs on
    top of the driver's (here, about 10 µs for a lookup by key on SQLite). The statement is
    compiled once per dialect and runs in the connection's transaction; the driver's errors
    are raised as SQLAlchemy raises them (``IntegrityError``, ``OperationalError``…)."""
    sql, (values,) = _positional(statement, conn.dialect, [params])
    with _driver_cursor(conn, sql) as cursor:
        cursor.execute(sql, values)
        return list(cursor.fetchall())


def execute_many(
    conn: Connection, statement: ClauseElement, rows: Iterable[Mapping[str, Any]]
) -> None:
    """``fetch`` for a statement run once per row that returns nothing (a batch's insert)."""
    sql, params = _positional(statement, conn.dialect, rows)
    with _driver_cursor(conn, sql) as cursor:
        cursor.executemany(sql, params)


@contextlib.contextmanager
def _driver_cursor(conn: Connection, sql: str) -> Iterator[Any]:
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    error_class = conn.dialect.loaded_dbapi.Error
    cursor = dbapi_connection.cursor()
    try:
        yield cursor
    except error_class as error:  # the parameters stay out of the message: they are users' text
        raise DBAPIError.instance(
            sql, None, error, error_class, hide_parameters=True, dialect=conn.dialect
        ) from error
    finally:
        cursor.close()


class Writer:
    """Runs ``fn(connection, *args)`` in a write transaction and returns what it returns.

    ``fn`` is synchronous: it only runs statements, it never waits on anything else. On
    PostgreSQL it runs on the async engine (``AsyncConnection.run_sync``), on a connection the
    writer keeps (``_run_on_server``). On a SQLite file it runs on the event loop itself, on a
    connection of its own: the lock is taken without waiting (``BEGIN IMMEDIATE`` with no busy
    timeout; while another transaction holds it, the writer sleeps asynchronously and tries
    again), and the transaction then holds it for as long as its statements take, about a
    millisecond for a batch of messages. Through aiosqlite the same transaction takes three or
    four hops to its thread per statement, each waiting for a turn of a busy event loop.

    Its commits never checkpoint the WAL: a checkpoint waits for the disk (``fsync``, about
    10 ms here, every thousand pages written), which on the event loop would stall every
    session. Instead, after a commit, at most once every ``CHECKPOINT_INTERVAL`` seconds and
    one at a time, a passive checkpoint runs on a thread of the default executor; after a
    commit that comes sooner, it runs once the interval is over. So the last commits of a burst
    are checkpointed too, and the next write starts the WAL over from its beginning: without
    that, the WAL grew by every burst's tail (to 273 MB over one benchmark run).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: Engine | None = None
        self._connection: Connection | None = None
        self._server_connection: AsyncConnection | None = None
        self._server_lock = asyncio.Lock()
        self._checkpoint: asyncio.Future[None] | None = None
        self._checkpoint_timer: asyncio.TimerHandle | None = None
        self._checkpointed_at = float("-inf")
        self._path = ""
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._path = str(url.database)
            self._sqlite = create_sync_engine(url.set(drivername="sqlite+pysqlite"))
            _configure_sqlite_connections(self._sqlite, busy_timeout_ms=0, checkpoints=False)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._sqlite is None:
            return await self._run_on_server(fn, *args)
        if self._connection is None:
            self._connection = self._sqlite.connect()
        conn = self._connection
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        pause = 0.001
        while True:
            try:
                transaction = conn.begin()
                break
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(2 * pause, 0.02)
        with transaction:
            result = fn(conn, *args)
        self._checkpoint_soon()
        return result

    async def _run_on_server(self, fn: Callable[..., T], *args: Any) -> T:
        """On a database server the writer keeps a connection of its own, used by one write at
        a time, so that a batch does not pay for a checkout from the pool (and its liveness
        ping, a round trip) on top of its statements. After a failure the connection is closed,
        and the next write takes a fresh one."""
        async with self._server_lock:
            if self._server_connection is None:
                self._server_connection = await self._engine.connect()
            conn = self._server_connection
            try:
                async with conn.begin():
                    return await conn.run_sync(fn, *args)
            except BaseException:
                self._server_connection = None
                await asyncio.shield(conn.close())
                raise

    def _checkpoint_soon(self) -> None:
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        wait = self._checkpointed_at + CHECKPOINT_INTERVAL - now
        if wait > 0 or (self._checkpoint is not None and not self._checkpoint.done()):
            # Later, but surely: the checkpoint after the last commit of a burst is the one
            # that copies all of the WAL, so that the next write starts it over from the top.
            if self._checkpoint_timer is None:
                self._checkpoint_timer = loop.call_later(max(wait, 0.05), self._checkpoint_due)
            return
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
            self._checkpoint_timer = None
        self._checkpointed_at = now
        self._checkpoint = loop.run_in_executor(None, _checkpoint, self._path)

    def _checkpoint_due(self) -> None:
        self._checkpoint_timer = None
        self._checkpoint_soon()

    async def close(self) -> None:
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
            self._checkpoint_timer = None
        if self._checkpoint is not None:
            await self._checkpoint
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._server_connection is not None:
            await self._server_connection.close()
            self._server_connection = None
        if self._sqlite is not None:
            self._sqlite.dispose()


def _checkpoint(path: str) -> None:
    """Copy what the WAL holds into the database file, as far as readers allow (``PASSIVE``:
    it neither waits for nor blocks anyone); a checkpoint that cannot run now is skipped.

    A pass copies the frames the WAL had when it began, and the writer goes on committing
    meanwhile, so under a steady load one pass always ends behind it, and the WAL is never
    started over: it grew by every commit (to 105 MB in a five-second benchmark step), and
    each commit wrote past the end of the file. So passes follow one another, each shorter
    than the last, until the WAL has not grown since the pass before (all of it that readers
    allow is copied, and the next write starts it over from its beginning) or was started
    over meanwhile: at most ``CHECKPOINT_ROUNDS`` of them."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=0)) as connection:
            previous = -1
            for _ in range(CHECKPOINT_ROUNDS):
                busy, frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if busy or frames <= previous:
                    break
                previous = frames
    except sqlite3.Error as error:
        log.debug("WAL checkpoint skipped: %s", error)
