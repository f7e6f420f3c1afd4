"""The SDK's one WebSocket: connect, authenticate, correlate replies, reconnect, renew tokens.

``Connection`` runs the state machine of ``states.py``; every change goes through
``Connection._transition``, which refuses a move the table does not allow and emits
``connectionStateChanged``. A "renew" close (4100-4199) gets a token from the ``token_provider``
and reconnects; without a provider it emits ``tokenExpired`` and stops. A "terminal" close
(4200-4299) stops in ``denied`` and emits ``connectionError``. ``tokenAboutToExpire`` makes it
fetch a token and send ``updateToken`` on the live session, retrying with backoff.

Requests in flight when the socket goes fail with ``ConnectionLostError``, except those sent with
``retry=True`` (``sendMessage`` with its idempotency key), which wait for the next session and are
sent again. Every ``authenticate`` carries ``resume``: the last message index seen per channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from backchannel.client.backoff import Backoff
from backchannel.client.errors import ChatError, ConnectionLostError, SessionClosedError
from backchannel.client.events import EventEmitter
from backchannel.client.resume import ResumePoints
from backchannel.client.states import ConnectionState, check_transition, close_kind

__all__ = ["Connection", "TokenProvider", "websocket_url"]

log = logging.getLogger("backchannel.client")

TokenProvider = Callable[[], str | Awaitable[str]]

ENDPOINT = "/client/v1/ws"
READY_TIMEOUT = 15.0  # seconds from sending `authenticate` to `ready`
MAX_FRAME = 16 * 2**20  # a page of 100 long messages fits
INITIAL_ATTEMPTS = 5  # reconnect-type failures tolerated before the first `ready`


def websocket_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` → ``ws(s)://host[:port][/prefix]/client/v1/ws``."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"expected an http(s):// URL, got {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith(ENDPOINT):
        path += ENDPOINT
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class _Unreachable(Exception):
    """The socket could not be opened (refused, timed out, not a WebSocket endpoint)."""


class Connection:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        emitter: EventEmitter,
        on_ready: Callable[[dict[str, Any]], None],
        on_event: Callable[[str, Any], None],
        token_provider: TokenProvider | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.url = websocket_url(url)
        self.token = token
        self.token_provider = token_provider
        self.backoff = backoff or Backoff()
        self.state = ConnectionState.DISCONNECTED
        self.ready: dict[str, Any] = {}
        self.resume = ResumePoints()
        self._emitter = emitter
        self._on_ready = on_ready
        self._on_event = on_event
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._changed = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        self._shut_down = False
        self._expiry_reported = False

    # -- state --------------------------------------------------------------------------------

    def _transition(self, state: ConnectionState) -> None:
        check_transition(self.state, state)
        self.state = state
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        self._emitter.emit("connectionStateChanged", state.value)

    async def wait_connected(self) -> None:
        """Return once connected; ``ConnectionLostError`` if the connection has stopped."""
        while self.state is not ConnectionState.CONNECTED:
            if self.state in (ConnectionState.DISCONNECTED, ConnectionState.DENIED):
                raise ConnectionLostError("not connected")
            await self._changed.wait()

    # -- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and authenticate: return on ``ready``, raise ``ChatError`` if refused."""
        if self._shut_down:
            raise ConnectionLostError("the client was shut down")
        if self._run_task is not None and not self._run_task.done():
            raise RuntimeError("the connection is already running")
        self._started = asyncio.get_running_loop().create_future()
        self._run_task = asyncio.create_task(self._guarded_run(), name="backchannel-connection")
        try:
            await asyncio.shield(self._started)
        except asyncio.CancelledError:
            await self.shutdown()
            raise

    async def shutdown(self) -> None:
        """Close the socket (1000), stop reconnecting, fail what is in flight."""
        self._shut_down = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        for task in (self._run_task, self._renew_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._stop(ConnectionState.DISCONNECTED, ConnectionLostError("the client was shut down"))

    def _stop(self, state: ConnectionState, error: ChatError) -> None:
        if self.state not in (ConnectionState.DISCONNECTED, ConnectionState.DENIED):
            self._transition(state)
        self._ws = None
        self._fail_pending()
        if self._started is not None and not self._started.done():
            self._started.set_exception(error)
            self._started.exception()  # start() may have been cancelled: nobody else looks

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLostError())

    def _leave_connected(self) -> None:
        if self.state is not ConnectionState.CONNECTING:
            self._transition(ConnectionState.CONNECTING)
        self._ws = None
        self._fail_pending()

    async def _guarded_run(self) -> None:
        try:
            await self._run()
        except Exception as exc:  # a bug must not leave create() or requests waiting forever
            log.exception("the connection stopped on an unexpected error")
            self._stop(ConnectionState.DISCONNECTED, ConnectionLostError(f"internal error: {exc}"))

    async def _run(self) -> None:
        attempt = 0
        ever_ready = False
        while not self._shut_down:
            self._leave_connected()
            try:
                code, reason, was_ready = await self._session()
            except _Unreachable as exc:
                if not ever_ready:
                    self._stop(ConnectionState.DISCONNECTED, ConnectionLostError(str(exc)))
                    return
                log.info("reconnecting: %s", exc)
                await asyncio.sleep(self.backoff.delay(attempt))
                attempt += 1
                continue
            finally:
                self._cancel_renewal()
            if self._shut_down:
                return
            ever_ready = ever_ready or was_ready
            if was_ready:
                attempt = 0
            kind = close_kind(code)
            error = SessionClosedError.from_close(code, reason)
            if kind == "normal":
                self._stop(ConnectionState.DISCONNECTED, error)
                return
            if kind == "terminal":
                self._stop(ConnectionState.DENIED, error)
                self._emitter.emit("connectionError", error)
                return
            if kind == "renew" and self.token_provider is None:
                if not self._expiry_reported:
                    self._expiry_reported = True
                    self._emitter.emit("tokenExpired", {"expires_at": self.token_expires_at})
                self._stop(ConnectionState.DISCONNECTED, error)
                return
            if not ever_ready and attempt + 1 >= INITIAL_ATTEMPTS:
                self._stop(ConnectionState.DISCONNECTED, error)
                return
            self._leave_connected()
            log.info("session closed (%s, %s): %s", code, kind, error.message)
            if kind == "renew":
                if attempt:  # the last token was refused too: do not hammer the backend
                    await asyncio.sleep(self.backoff.delay(attempt))
                self.token = await self._fetch_token()
            else:
                await asyncio.sleep(self.backoff.delay(attempt))
            attempt += 1

    async def _session(self) -> tuple[int, str, bool]:
        """One socket, open to close: its close code and reason, and whether it got ``ready``."""
        try:
            ws = await connect(
                self.url, open_timeout=10, close_timeout=5, max_size=MAX_FRAME, compression=None
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise _Unreachable(f"cannot connect to {self.url}: {exc}") from exc
        self._ws = ws
        ready = False
        try:
            auth = {"token": self.token, "resume": self.resume.snapshot()}
            await ws.send(json.dumps({"cmd": "authenticate", "args": auth}))
            try:
                first = _decode(await asyncio.wait_for(ws.recv(), READY_TIMEOUT))
            except TimeoutError:
                await ws.close(4008, "no ready in time")
                return 4008, "", False
            if first.get("event") != "ready" or not isinstance(first.get("data"), dict):
                log.warning("expected ready, got %.200r", first)
                await ws.close(1002, "expected ready")
                return 1002, "", False
            self._accept_ready(first["data"])
            ready = True
            self._transition(ConnectionState.CONNECTED)
            if self._started is not None and not self._started.done():
                self._started.set_result(None)
            while True:
                frame = _decode(await ws.recv())
                try:
                    self._dispatch(frame)
                except Exception:
                    log.exception("could not handle the frame %.200r", frame)
        except ConnectionClosed as closed:
            if closed.rcvd is None:
                return 1006, "", ready
            return closed.rcvd.code, closed.rcvd.reason, ready
        finally:
            with contextlib.suppress(Exception):
                await ws.close()

    def _accept_ready(self, data: dict[str, Any]) -> None:
        self.ready = data
        self._expiry_reported = False
        self._on_ready(data)

    @property
    def token_expires_at(self) -> float | None:
        value = self.ready.get("token_expires_at")
        return value if isinstance(value, int | float) else None

    # -- frames -------------------------------------------------------------------------------

    def _dispatch(self, frame: dict[str, Any]) -> None:
        if "event" in frame:
            self._event(str(frame["event"]), frame.get("data"))
            return
        request_id = frame.get("id")
        future = self._pending.pop(request_id, None) if type(request_id) is int else None
        if future is None or future.done():
            log.debug("a reply nobody waits for: %.200r", frame)
            return
        if frame.get("ok") is True:
            future.set_result(frame.get("result") or {})
        else:
            error = frame.get("error")
            if not isinstance(error, dict):
                error = {}
            future.set_exception(
                ChatError(
                    str(error.get("message") or "request failed"),
                    code=int(error.get("code") or 20001),
                    status=int(error.get("status") or 400),
                )
            )

    def _event(self, name: str, data: Any) -> None:
        if name == "tokenAboutToExpire":
            seconds = data.get("expires_in") if isinstance(data, dict) else None
            self._emitter.emit(name, int(seconds) if isinstance(seconds, int | float) else 0)
            if self.token_provider is not None:
                self._cancel_renewal()
                self._renew_task = asyncio.create_task(self._renew_live())
            return
        if name == "tokenExpired":
            self._expiry_reported = True
            self._emitter.emit(name, data)
            return
        if name == "messageAdded" and isinstance(data, dict):
            self.resume.saw(data.get("channel_sid"), data.get("index"))
        try:
            self._on_event(name, data)
        except Exception:
            log.exception("could not handle the %s event %.200r", name, data)

    # -- requests -----------------------------------------------------------------------------

    async def request(self, cmd: str, args: dict[str, Any], *, retry: bool = False) -> Any:
        """Send ``cmd`` and return its result; ``ChatError`` for an error reply.

        ``retry=True``: if the connection drops first, wait for the next session and send again
        (only for idempotent requests).
        """
        while True:
            if retry:
                await self.wait_connected()
            ws = self._ws
            if self.state is not ConnectionState.CONNECTED or ws is None:
                raise ConnectionLostError("not connected")
            request_id = next(self._ids)
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending[request_id] = future
            try:
                await ws.send(json.dumps({"id": request_id, "cmd": cmd, "args": args}))
                return await future
            except (ConnectionClosed, ConnectionLostError) as exc:
                if retry and not self._shut_down:
                    log.info("%s: connection lost, sending again after reconnecting", cmd)
                    continue
                if isinstance(exc, ConnectionLostError):
                    raise
                raise ConnectionLostError() from exc
            finally:
                self._pending.pop(request_id, None)

    async def update_token(self, token: str) -> None:
        """Hand the session a new token; when stopped, reconnect with it."""
        if self.state is ConnectionState.CONNECTED:
            result = await self.request("updateToken", {"token": token})
            self.token = token
            self.ready["token_expires_at"] = result.get("token_expires_at")
            self._expiry_reported = False
        elif self.state is ConnectionState.CONNECTING:
            self.token = token  # the next attempt authenticates with it
        else:
            self.token = token
            await self.start()

    # -- tokens -------------------------------------------------------------------------------

    async def _call_provider(self) -> str:
        assert self.token_provider is not None
        token = self.token_provider()
        if inspect.isawaitable(token):
            token = await token
        if not isinstance(token, str) or not token:
            raise TypeError(f"token_provider returned {type(token).__name__}, not a token")
        return token

    async def _fetch_token(self) -> str:
        """A token from the provider, retrying with backoff while it fails."""
        attempt = 0
        while True:
            try:
                return await self._call_provider()
            except Exception:
                log.warning("token_provider failed; retrying", exc_info=True)
            await asyncio.sleep(self.backoff.delay(attempt))
            attempt += 1

    async def _renew_live(self) -> None:
        """On tokenAboutToExpire: fetch a token and ``updateToken``, with backoff until it works.

        If the session ends first, the reconnect path takes over (a renew close fetches again).
        """
        attempt = 0
        while self.state is ConnectionState.CONNECTED:
            try:
                await self.update_token(await self._call_provider())
                return
            except ConnectionLostError:
                return
            except Exception:
                log.warning("token renewal failed; retrying", exc_info=True)
            await asyncio.sleep(self.backoff.delay(attempt))
            attempt += 1

    def _cancel_renewal(self) -> None:
        task, self._renew_task = self._renew_task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()


def _decode(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except ValueError:
        frame = None
    if not isinstance(frame, dict):
        log.warning("ignoring a frame that is not a JSON object: %.200r", raw)
        return {}
    return frame
