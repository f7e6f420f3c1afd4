"""A session's outgoing frames: handed to the server at once, once per turn of the event loop,
or, while the server cannot take them (say, its socket is over the high-water mark), sent
through ASGI one by one; in their order either way, and the first way again once the backlog
is gone.

The session runs here against a stand-in WebSocket whose ``SEND_TEXTS`` extension can be told
to refuse, and whose ASGI sends can be held, so each way and each switch can be watched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from backchannel.realtime import events, fanout
from backchannel.realtime.protocol import SEND_TEXTS, Close, Outgoing, texts_of
from backchannel.realtime.session import OUTBOX_BYTES, HandOvers, Session

from .test_fanout import message


class StandInWebSocket:
    def __init__(self) -> None:
        self.scope: dict[str, Any] = {"extensions": {SEND_TEXTS: {"send": self.send_texts}}}
        self.taking = True
        self.handed_over: list[list[str]] = []  # one list per call of SEND_TEXTS
        self.blocks: list[tuple[str, ...]] = []  # the blocks among what was handed over
        self.sent: list[str] = []  # through ASGI
        self.received: list[str] = []  # both, in the order they came
        self.asgi_open = asyncio.Event()
        self.asgi_open.set()

    def send_texts(self, texts: Iterable[Outgoing]) -> bool:
        if not self.taking:
            return False
        texts = list(texts)
        self.blocks += [item for item in texts if isinstance(item, tuple)]
        self.handed_over.append([text for item in texts for text in texts_of(item)])
        self.received += self.handed_over[-1]
        return True

    async def send_text(self, text: str) -> None:
        await self.asgi_open.wait()
        self.sent.append(text)
        self.received.append(text)


BIG = "x" * (64 * 1024)  # a frame: 64 of them fill an outbox's OUTBOX_BYTES


def stand_in_node(**more: Any) -> Any:
    return SimpleNamespace(burst=10, hand_overs=HandOvers(), **more)


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_frames_of_one_turn_are_handed_over_in_one_call() -> None:
    async def scenario() -> None:
        websocket = StandInWebSocket()
        session = Session(stand_in_node(), websocket)
        for i in range(5):
            session.reply(f"frame {i}")
        assert websocket.handed_over == []  # at the end of the turn, not per frame
        await turns()
        assert websocket.handed_over == [[f"frame {i}" for i in range(5)]]
        session.reply("next turn")
        await turns()
        assert websocket.handed_over[1:] == [["next turn"]]
        assert websocket.sent == []

    asyncio.run(scenario())


def test_the_sessions_of_a_turn_are_handed_over_together_or_at_once_when_asked() -> None:
    """What sessions queue in one turn leaves at the end of it; ``run()`` (the message writer,
    after a batch) hands it over at once, and nothing goes twice."""

    async def scenario() -> None:
        node = stand_in_node()
        websockets = [StandInWebSocket() for _ in range(3)]
        sessions = [Session(node, websocket) for websocket in websockets]
        for n, session in enumerate(sessions):
            session.reply(f"to {n}")
        assert [w.handed_over for w in websockets] == [[], [], []]
        await turns()
        assert [w.handed_over for w in websockets] == [[["to 0"]], [["to 1"]], [["to 2"]]]
        sessions[0].reply("now")
        sessions[2].reply("now")
        node.hand_overs.run()
        assert [w.handed_over[1:] for w in websockets] == [[["now"]], [], [["now"]]]
        await turns()
        assert [len(w.handed_over) for w in websockets] == [2, 1, 2]

    asyncio.run(scenario())


def test_a_session_whose_hand_over_fails_leaves_the_others_theirs() -> None:
    class Broken(StandInWebSocket):
        def send_texts(self, texts: Iterable[Outgoing]) -> bool:
            raise RuntimeError("broken connection")

    async def scenario() -> None:
        node = stand_in_node()
        websockets = [StandInWebSocket(), Broken(), StandInWebSocket()]
        sessions = [Session(node, websocket) for websocket in websockets]
        for session in sessions:
            session.reply("hello")
        node.hand_overs.run()
        assert [w.handed_over for w in websockets] == [[["hello"]], [], [["hello"]]]
        sessions[0].reply("again")
        await turns()
        assert websockets[0].handed_over == [["hello"], ["again"]]

    asyncio.run(scenario())


def test_frames_go_through_asgi_while_refused_and_never_overtake_each_other() -> None:
    async def scenario() -> None:
        websocket = StandInWebSocket()
        session = Session(stand_in_node(), websocket)
        send_loop = asyncio.create_task(session._send_loop())
        try:
            session.reply("taken")
            await turns()
            websocket.taking = False  # over the high-water mark
            websocket.asgi_open.clear()  # … and ASGI sends wait for the socket
            session.reply("refused 1")
            session.reply("refused 2")
            await turns()
            assert websocket.received == ["taken"]

            # The server could take frames again, but "refused 1" is still on its way through
            # ASGI: what comes now must wait behind it.
            websocket.taking = True
            session.reply("after")
            await turns()
            assert websocket.received == ["taken"]
            assert websocket.handed_over == [["taken"]]

            websocket.asgi_open.set()
            await turns(20)
            assert websocket.received == ["taken", "refused 1", "refused 2", "after"]

            # The backlog is gone: frames are handed over at once again.
            session.reply("at once")
            await turns()
            assert websocket.handed_over[-1] == ["at once"]
            assert websocket.received[-1] == "at once"
        finally:
            send_loop.cancel()

    asyncio.run(scenario())


def test_a_client_that_does_not_read_is_closed_once_its_queue_holds_4_mib() -> None:
    """Large frames count by their size, not only their number: 64 frames of 64 KiB fill the
    queue (far fewer than ``OUTBOX_FRAMES``), the next closes the session with 4001."""

    async def scenario() -> None:
        websocket = StandInWebSocket()
        websocket.taking = False  # over the high-water mark …
        websocket.asgi_open.clear()  # … and not reading
        session = Session(stand_in_node(), websocket)
        for _ in range(OUTBOX_BYTES // len(BIG)):
            session.reply(BIG)
        await turns()
        assert session._closing is None
        session.reply(BIG)
        assert session._closing is not None and session._closing.code == Close.TOO_SLOW

    asyncio.run(scenario())


def test_frames_that_leave_free_their_room_in_the_queue() -> None:
    """A client that reads, however many large frames it is sent over time, is never closed:
    what leaves the queue (at once, or one by one through ASGI) no longer counts."""

    async def scenario() -> None:
        websocket = StandInWebSocket()
        session = Session(stand_in_node(), websocket)
        send_loop = asyncio.create_task(session._send_loop())
        try:
            for n in range(3 * OUTBOX_BYTES // len(BIG)):
                websocket.taking = n % 2 == 0  # at once, then through ASGI, by turns
                session.reply(BIG)
                await turns()
            assert session._closing is None
            assert len(websocket.received) == 3 * OUTBOX_BYTES // len(BIG)
        finally:
            send_loop.cancel()

    asyncio.run(scenario())


def test_a_batchs_events_go_to_every_session_as_one_block_or_one_by_one_when_refused() -> None:
    """The events of a batch's messages are queued as one block, the same tuple in every
    session they go to, so the server makes their bytes once for all; a session whose
    connection refuses them sends them through ASGI one by one, in order, and counts each out
    of its queue."""
    channel = "CH" + "a" * 32
    [(topic, data)] = events.messages_added([message(channel, i) for i in range(5)])
    frames = fanout.parse(data).frames

    async def scenario() -> None:
        node = stand_in_node()
        websockets = [StandInWebSocket() for _ in range(3)]
        sessions = [Session(node, websocket) for websocket in websockets]
        websockets[2].taking = False
        send_loop = asyncio.create_task(sessions[2]._send_loop())
        try:
            for session in sessions:
                session._deliver(topic, data)
            assert sessions[2]._outbox_frames == 5
            node.hand_overs.run()
            assert websockets[0].blocks == websockets[1].blocks == [frames]
            assert websockets[0].blocks[0] is websockets[1].blocks[0]
            assert websockets[0].received == websockets[1].received == list(frames)
            await turns(20)
            assert websockets[2].handed_over == [] and websockets[2].sent == list(frames)
            assert (sessions[2]._outbox_frames, sessions[2]._outbox_size) == (0, 0)
        finally:
            send_loop.cancel()

    asyncio.run(scenario())


def test_a_resumed_session_sends_each_message_once_when_a_batch_overlaps_its_replay() -> None:
    """While a session replays what its client missed (here up to index 5), a batch of events
    for indexes 4 to 7 arrives as one broker message: 4 and 5 are not sent twice, 6 and 7 follow
    the replay, in order."""
    channel = "CH" + "a" * 32
    stored = [message(channel, i) for i in range(8)]

    async def messages_after(channel_sid: str, index: int) -> list[dict[str, Any]]:
        assert channel_sid == channel
        return [m for m in stored[:6] if m["index"] > index]

    async def scenario() -> None:
        websocket = StandInWebSocket()
        node = stand_in_node(messages_after=messages_after)
        session = Session(node, websocket)
        session.channels.add(channel)
        session._replaying = []
        [(_, data)] = events.messages_added(stored[4:])
        session._deliver(fanout.channel_topic(channel), data)
        await session._replay({channel: 2})
        await turns()
        indexes = [json.loads(frame)["data"]["index"] for frame in websocket.received]
        assert indexes == [3, 4, 5, 6, 7]

    asyncio.run(scenario())


def _replaying_session(
    channel: str, stored: list[dict[str, Any]]
) -> tuple[Session, StandInWebSocket]:
    """A session about to replay ``stored`` to a client that reads nothing: the replay's first
    send waits."""

    async def messages_after(channel_sid: str, index: int) -> list[dict[str, Any]]:
        return [m for m in stored if m["channel_sid"] == channel_sid and m["index"] > index]

    websocket = StandInWebSocket()
    websocket.asgi_open.clear()
    session = Session(stand_in_node(messages_after=messages_after), websocket)
    session.channels.add(channel)
    session._replaying = []
    return session, websocket


def test_a_client_that_does_not_read_its_replay_is_closed_once_4_mib_is_held_for_it() -> None:
    """Live events that come while a session replays are held until the replay is done; they
    count against the same limits as the outbox: 64 events of 64 KiB are held, the next closes
    the session with 4001 and is not kept, and the replay stops."""
    channel = "CH" + "b" * 32

    async def scenario() -> None:
        session, websocket = _replaying_session(channel, [message(channel, i) for i in range(3)])
        serving = asyncio.create_task(session._serve_until_closed({channel: -1}))
        await turns()
        topic = fanout.channel_topic(channel)
        for n in range(OUTBOX_BYTES // len(BIG)):
            session._deliver(topic, fanout.event_message(BIG, channel=channel, index=3 + n))
        await turns()
        assert session._closing is None and not serving.done()
        session._deliver(topic, fanout.event_message(BIG, channel=channel, index=100))
        assert session._closing is not None and session._closing.code == Close.TOO_SLOW
        await asyncio.wait_for(serving, 1)
        assert session._held_size == OUTBOX_BYTES
        assert session._replaying is not None and len(session._replaying) == 64
        assert websocket.received == []  # the first replayed frame never left

    asyncio.run(scenario())


def test_a_session_closed_while_it_replays_stops_replaying_at_once() -> None:
    """A session revoked (here: its user deleted) while a client that does not read holds up
    its replay is not kept open until the replay could finish."""
    channel = "CH" + "c" * 32

    async def scenario() -> None:
        session, _ = _replaying_session(channel, [message(channel, i) for i in range(3)])
        serving = asyncio.create_task(session._serve_until_closed({channel: -1}))
        await turns()
        assert not serving.done()
        session.close(Close.USER_DELETED, 20404, "user deleted")
        await asyncio.wait_for(serving, 1)

    asyncio.run(scenario())
