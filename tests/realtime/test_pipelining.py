"""Pipelined sends: a client that sends many messages without waiting for each reply.

A session hands its ``sendMessage`` requests to the node's message writer and reads on; the
writer commits whatever has queued up in one transaction. What a client sees must not change:
replies in the order of the requests, consecutive indexes in the order sent, each message
heard once and in index order, keys that make a retried send add nothing, the right error for
each refused send, and any other request answered only after the sends before it.

Some tests watch ``Store.write`` (the test server runs in this process) to make sure a burst
really was written in batches of several sends, and slow each batch a little, as a busy
database would, so that the sends after the first one queue up behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from backchannel.realtime import message_commands, message_writer
from backchannel.realtime.session import SENDS_IN_FLIGHT, Session
from backchannel.store import Store, roles

from .conftest import ChatService, authenticate, receive, send
from .test_chat import ok, pair, refused

Frame = dict[str, Any]
BATCH_DELAY = 0.03  # seconds each batch waits before its transaction, in the watched tests


async def burst(ws: ClientConnection, requests: list[tuple[int, str, dict[str, Any]]]) -> None:
    """Send every request at once, without reading anything."""
    for request_id, cmd, args in requests:
        await send(ws, {"id": request_id, "cmd": cmd, "args": args})


async def replies(ws: ClientConnection, count: int, timeout: float = 15.0) -> list[Frame]:
    """The next ``count`` replies, in the order they arrive (events in between are skipped)."""
    got: list[Frame] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            frame = await receive(ws, timeout)
            if "id" in frame:
                got.append(frame)
    return got


async def heard(ws: ClientConnection, request_id: int = 999_999) -> list[Frame]:
    """Every ``messageAdded`` this client has been sent so far, in the order it came.

    Reads up to the reply to a ``ping`` sent now: the reply comes after whatever events were
    already on their way (once a sender has its replies, its messages have been published).
    """
    await send(ws, {"id": request_id, "cmd": "ping", "args": {}})
    events: list[Frame] = []
    async with asyncio.timeout(10):
        while True:
            frame = await receive(ws)
            if frame.get("id") == request_id:
                assert frame["ok"] is True, frame
                return events
            if frame.get("event") == "messageAdded":
                events.append(frame["data"])


def sent(channel: str, body: str, **args: Any) -> dict[str, Any]:
    return {"channel": channel, "body": body, **args}


def results(frames: list[Frame]) -> list[Any]:
    """The result of each reply, or its error code."""
    return [f["result"] if f["ok"] else f["error"]["code"] for f in frames]


Batch = list[tuple[str, int | None]]  # (identity, request id) of each send


@dataclass
class Batches:
    """The batches the node's message writer wrote while a test watched."""

    committed: list[Batch] = field(default_factory=list)
    failed: list[Batch] = field(default_factory=list)  # transactions that raised
    # sends in the writer as each batch's transaction begins: the batch's and those queued
    in_flight: list[int] = field(default_factory=list)
    fail_when: Callable[[Batch], bool] | None = None  # make the first such batch fail
    settle: bool = False  # each batch also waits until no send has come for BATCH_DELAY

    def committed_together(self, wanted: Callable[[Batch], bool]) -> bool:
        """Whether some batch that committed as a whole had the sends ``wanted`` looks for."""
        return any(wanted(batch) for batch in self.committed)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[Batches]:
    """Watches the message writer's batches, delays each by ``BATCH_DELAY``, and can make one
    fail as a whole: its statements run, then its transaction raises and is rolled back."""
    seen = Batches()
    write = Store.write

    async def watched(store: Store, fn: Callable[..., Any], *args: Any) -> Any:
        if fn is not message_writer._commit:
            return await write(store, fn, *args)
        batch = [(send.session.identity, send.request_id) for send in args[0]]
        await asyncio.sleep(BATCH_DELAY)
        if args[0]:
            queue = args[0][0].session.node.writer._queue
            queued = -1
            while seen.settle and len(queue) != queued:
                queued = len(queue)
                await asyncio.sleep(BATCH_DELAY)
            seen.in_flight.append(len(batch) + len(queue))
        if seen.fail_when is not None and seen.fail_when(batch):
            seen.fail_when = None
            commit = fn

            def doomed(conn: Any, *rest: Any) -> Any:
                commit(conn, *rest)
                raise RuntimeError("the transaction failed")

            fn = doomed
        try:
            result = await write(store, fn, *args)
        except Exception:
            seen.failed.append(batch)
            raise
        seen.committed.append(batch)
        return result

    monkeypatch.setattr(Store, "write", watched)
    yield seen


def test_a_burst_of_sends_is_answered_in_order_and_heard_once_each(live: ChatService) -> None:
    """50 sends without waiting: 50 replies in request order with consecutive indexes, the
    other member hears each message once in index order, and history has them all."""

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            ids = [100 + n for n in range(50)]
            bodies = [f"message {n}" for n in range(50)]
            requests = [
                (i, "sendMessage", sent(channel, b)) for i, b in zip(ids, bodies, strict=True)
            ]
            await burst(alice, requests)
            frames = await replies(alice, 50)

            assert [f["id"] for f in frames] == ids
            assert all(f["ok"] for f in frames), [f for f in frames if not f["ok"]]
            assert [f["result"]["index"] for f in frames] == list(range(50))
            messages = [f["result"]["message"] for f in frames]
            assert [m["body"] for m in messages] == bodies
            assert [m["index"] for m in messages] == list(range(50))
            assert {m["author"] for m in messages} == {"alice"}
            sids = [m["sid"] for m in messages]
            assert len(set(sids)) == 50

            events = await heard(bob)
            assert [e["index"] for e in events] == list(range(50))
            assert [e["sid"] for e in events] == sids
            assert [e["body"] for e in events] == bodies

            page = await ok(
                bob, "getMessages", 2, channel=channel, direction="forwards", page_size=100
            )
            assert [m["sid"] for m in page["items"]] == sids
            assert [m["index"] for m in page["items"]] == list(range(50))
            assert page["has_next_page"] is False

    asyncio.run(scenario())


def test_a_session_has_at_most_a_batch_of_sends_waiting_for_their_commit(
    live: ChatService, batches: Batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Far more sends than ``SENDS_IN_FLIGHT`` without waiting: while a batch commits, the
    session reads on until that many of its sends are in the writer, so the next batch takes
    them all; the rest wait unread until replies make room. Each is answered, in order."""
    monkeypatch.setattr(Session, "_allow", lambda self: True)  # not the rate limit's test
    batches.settle = True  # a batch waits until the session has read all it may, however slowly
    count = SENDS_IN_FLIGHT + 50

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            ids = list(range(100, 100 + count))
            await burst(alice, [(i, "sendMessage", sent(channel, f"m{i}")) for i in ids])
            frames = await replies(alice, count, timeout=60)
            assert [f["id"] for f in frames] == ids
            assert [f["result"]["index"] for f in frames] == list(range(count))

    asyncio.run(scenario())
    assert max(batches.in_flight) == SENDS_IN_FLIGHT, batches.in_flight


def test_a_request_right_after_a_burst_sees_every_send_before_it(live: ChatService) -> None:
    """Sends, then getMessages, then more sends, then getMessages, all without waiting: each
    getMessages is answered after the sends before it and lists exactly those."""

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            forwards = {"channel": channel, "direction": "forwards", "page_size": 100}
            first = [(n, "sendMessage", sent(channel, f"first {n}")) for n in range(1, 11)]
            second = [(n, "sendMessage", sent(channel, f"second {n}")) for n in range(12, 22)]
            await burst(alice, [*first, (11, "getMessages", forwards)])
            await burst(alice, [*second, (22, "getMessages", forwards)])
            frames = await replies(alice, 22)

            assert [f["id"] for f in frames] == list(range(1, 23))
            assert all(f["ok"] for f in frames), [f for f in frames if not f["ok"]]
            sends = [f["result"]["message"] for f in frames if "message" in f["result"]]
            assert [m["index"] for m in sends] == list(range(20))
            listed_first = frames[10]["result"]["items"]
            assert [m["sid"] for m in listed_first] == [m["sid"] for m in sends[:10]]
            listed_both = frames[21]["result"]["items"]
            assert [m["sid"] for m in listed_both] == [m["sid"] for m in sends]
            assert [m["body"] for m in listed_both[10:]] == [f"second {n}" for n in range(12, 22)]
            assert [e["sid"] for e in await heard(bob)] == [m["sid"] for m in sends]

    asyncio.run(scenario())


def test_one_key_sent_again_within_a_burst_stores_one_message(
    live: ChatService, batches: Batches
) -> None:
    """A key repeated within one burst (even within one batch) and once more later: one
    message, every reply gives its index and SID, the other member hears it once."""

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            plan = [
                (1, sent(channel, "plain one")),
                (2, sent(channel, "keyed", key="k-1")),
                (3, sent(channel, "plain two")),
                (4, sent(channel, "keyed", key="k-1")),
                (5, sent("general", "keyed", key="k-1")),  # the same channel by its name
                (6, sent(channel, "other key", key="k-2")),
                (7, sent(channel, "keyed", key="k-1")),
                (8, sent(channel, "other key", key="k-2")),
            ]
            await burst(alice, [(i, "sendMessage", args) for i, args in plan])
            frames = await replies(alice, len(plan))
            assert [f["id"] for f in frames] == [i for i, _ in plan]
            assert all(f["ok"] for f in frames), [f for f in frames if not f["ok"]]
            indexes = [f["result"]["index"] for f in frames]
            assert indexes == [0, 1, 2, 1, 1, 3, 1, 3]
            by_index: dict[int, set[str]] = {}
            for f in frames:
                by_index.setdefault(f["result"]["index"], set()).add(f["result"]["message"]["sid"])
            assert all(len(sids) == 1 for sids in by_index.values()), by_index
            keyed_sid = next(iter(by_index[1]))

            later = await ok(alice, "sendMessage", 9, channel=channel, body="keyed", key="k-1")
            assert (later["index"], later["message"]["sid"]) == (1, keyed_sid)

            events = await heard(bob)
            assert [(e["index"], e["body"]) for e in events] == [
                (0, "plain one"),
                (1, "keyed"),
                (2, "plain two"),
                (3, "other key"),
            ]
            page = await ok(bob, "getMessages", 2, channel=channel)
            assert [m["index"] for m in page["items"]] == [0, 1, 2, 3]

    asyncio.run(scenario())
    # At least two sends of the key were in one batch, and no batch had to be retried.
    assert batches.committed_together(lambda b: len({2, 4, 5, 7} & {i for _, i in b}) >= 2)
    assert batches.failed == []


def test_refused_and_malformed_sends_in_a_burst_get_their_own_answers(
    live: ChatService, batches: Batches
) -> None:
    """Good sends interleaved with a channel that does not exist (50300), a channel the user is
    not in (50107) and malformed requests (20001): each its own answer, in order; the good
    ones stored at consecutive indexes, nothing stored elsewhere."""

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            created = await ok(bob, "createChannel", 2, friendly_name="bob's", unique_name="bobs")
            bobs = created["channel"]["sid"]
            plan: list[tuple[int, dict[str, Any], int | None]] = [
                (10, sent(channel, "good 0"), None),
                (11, sent("nowhere", "lost"), 50300),
                (12, sent(channel, "good 1"), None),
                (13, sent(bobs, "not a member"), 50107),
                (14, {"channel": channel}, 20001),  # no body
                (15, sent("general", "good 2"), None),
                (16, sent("bobs", "not a member by name"), 50107),
                (17, sent(channel, "bad key", key="k" * 65), 20001),
                (18, {"channel": channel, "body": 7}, 20001),
                (19, sent("CH" + "0" * 32, "no such SID"), 50300),
                (20, sent(channel, "good 3", key="g-3"), None),
            ]
            await burst(alice, [(i, "sendMessage", args) for i, args, _ in plan])
            frames = await replies(alice, len(plan))

            assert [f["id"] for f in frames] == [i for i, _, _ in plan]
            answers = results(frames)
            assert [a if isinstance(a, int) else None for a in answers] == [c for *_, c in plan]
            good = [a for a in answers if not isinstance(a, int)]
            assert [(m["index"], m["message"]["body"]) for m in good] == [
                (0, "good 0"),
                (1, "good 1"),
                (2, "good 2"),
                (3, "good 3"),
            ]

            events = await heard(bob)
            assert [(e["channel_sid"], e["index"]) for e in events] == [
                (channel, n) for n in range(4)
            ]
            page = await ok(bob, "getMessages", 3, channel=channel)
            assert [m["body"] for m in page["items"]] == ["good 0", "good 1", "good 2", "good 3"]
            assert (await ok(bob, "getMessages", 4, channel=bobs))["items"] == []

    asyncio.run(scenario())
    # Good sends and sends the batch's check left to the general path went in one batch.
    good, left = {10, 12, 15, 20}, {11, 13, 16, 19}
    assert batches.committed_together(
        lambda b: bool(good & {i for _, i in b} and left & {i for _, i in b})
    )
    assert batches.failed == []


def test_sends_allowed_by_the_service_role_mix_with_member_sends(
    live: ChatService, batches: Batches
) -> None:
    """carol's channel role does not grant sendMessage, her service role does; her sends and
    alice's, in one burst to one channel, all succeed, each sender's in its order, and bob
    hears every message once, in index order, without a gap."""
    service = live.rest.chat.v2.services(live.service_sid)
    listener = service.roles.create(
        friendly_name="listener", type="channel", permission=["leaveChannel"]
    )
    poster = service.roles.create(
        friendly_name="poster", type="deployment", permission=["joinChannel"]
    )
    service.users.create(identity="carol", role_sid=poster.sid)

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        service.channels(channel).members.create(identity="carol", role_sid=listener.sid)
        carol, _ = await authenticate(live, live.token("carol"))
        async with alice, bob, carol:
            # Neither role grants it yet.
            assert await refused(carol, "sendMessage", 1, channel=channel, body="no") == 50107

            # The REST API keeps sendMessage out of service roles; a database can have it.
            async def grant(store: Store) -> None:
                async with store.transaction() as conn:
                    await roles.set_permissions(
                        conn, live.service_sid, poster.sid, ["joinChannel", "sendMessage"]
                    )

            await asyncio.to_thread(live.handle.run_store, grant)

            for n in range(20):
                await send(
                    alice, {"id": 100 + n, "cmd": "sendMessage", "args": sent(channel, f"a{n}")}
                )
                await send(
                    carol, {"id": 200 + n, "cmd": "sendMessage", "args": sent(channel, f"c{n}")}
                )
            from_alice, from_carol = await asyncio.gather(replies(alice, 20), replies(carol, 20))

            for frames, first_id, author in ((from_alice, 100, "a"), (from_carol, 200, "c")):
                assert [f["id"] for f in frames] == list(range(first_id, first_id + 20))
                assert all(f["ok"] for f in frames), [f for f in frames if not f["ok"]]
                bodies = [f["result"]["message"]["body"] for f in frames]
                assert bodies == [f"{author}{n}" for n in range(20)]
                indexes = [f["result"]["index"] for f in frames]
                assert indexes == sorted(indexes) and len(set(indexes)) == 20
            indexes = [f["result"]["index"] for f in from_alice + from_carol]
            assert sorted(indexes) == list(range(40))

            events = await heard(bob)
            assert [e["index"] for e in events] == list(range(40))
            by_index = {
                f["result"]["index"]: f["result"]["message"] for f in from_alice + from_carol
            }
            assert [(e["sid"], e["author"]) for e in events] == [
                (by_index[n]["sid"], by_index[n]["author"]) for n in range(40)
            ]
            page = await ok(bob, "getMessages", 2, channel=channel, page_size=100)
            assert [m["index"] for m in page["items"]] == list(range(40))

    asyncio.run(scenario())
    assert batches.committed_together(lambda batch: {"alice", "carol"} <= {w for w, _ in batch})
    assert batches.failed == []


def test_sends_of_a_batch_that_fails_as_a_whole_are_sent_one_by_one(
    live: ChatService, batches: Batches
) -> None:
    """A batch whose transaction fails (its statements ran, then it was rolled back): each of
    its sends is retried on its own, a key sent twice in it still stores one message, and the
    client sees nothing unusual."""
    twins = ({1, 2}, {4, 5}, {8, 9})  # the two sends of one key
    batches.fail_when = lambda batch: any(t <= {i for _, i in batch} for t in twins)

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            plan: list[tuple[int, dict[str, Any]]] = [
                (1, sent(channel, "m0", key="k0")),
                (2, sent(channel, "m0", key="k0")),
                (3, sent("nowhere", "lost")),
                (4, sent(channel, "m1", key="k1")),
                (5, sent(channel, "m1", key="k1")),
                (6, {"channel": channel}),
                (7, sent(channel, "m2")),
                (8, sent(channel, "m3", key="k3")),
                (9, sent(channel, "m3", key="k3")),
            ]
            await burst(alice, [(i, "sendMessage", args) for i, args in plan])
            frames = await replies(alice, len(plan))
            assert [f["id"] for f in frames] == [i for i, _ in plan]
            answers = [a if isinstance(a, int) else a["index"] for a in results(frames)]
            assert answers == [0, 0, 50300, 1, 1, 20001, 2, 3, 3]
            for first, again in ((0, 1), (3, 4), (7, 8)):
                sid = frames[first]["result"]["message"]["sid"]
                assert frames[again]["result"]["message"]["sid"] == sid

            after = await ok(alice, "sendMessage", 10, channel=channel, body="m4")
            assert after["index"] == 4

            events = await heard(bob)
            assert [(e["index"], e["body"]) for e in events] == [(n, f"m{n}") for n in range(5)]
            page = await ok(bob, "getMessages", 2, channel=channel)
            assert [m["body"] for m in page["items"]] == [f"m{n}" for n in range(5)]

    asyncio.run(scenario())
    # One batch failed, with both sends of a key in it.
    assert len(batches.failed) == 1, batches


def test_hostile_strings_in_a_burst_are_refused_and_spoil_nothing_else(live: ChatService) -> None:
    """Lone surrogates (a JSON ``\\ud800`` escape) in the body, channel or key, and a NUL in the
    key: 20001 each, on both databases; bob's sends right behind them are stored."""

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            hostile = [
                sent(channel, "x\ud800"),
                sent("general\udfff", "x"),
                sent(channel, "x", key="k\ud800"),
                sent(channel, "x", key="k\x00"),
            ]
            await burst(alice, [(n + 1, "sendMessage", args) for n, args in enumerate(hostile)])
            await burst(bob, [(n + 1, "sendMessage", sent(channel, f"b{n}")) for n in range(3)])
            assert results(await replies(alice, len(hostile))) == [20001] * len(hostile)
            answers = results(await replies(bob, 3))
            assert [a["index"] for a in answers] == [0, 1, 2]
            page = await ok(alice, "getMessages", 9, channel=channel)
            assert [m["body"] for m in page["items"]] == ["b0", "b1", "b2"]

    asyncio.run(scenario())


def test_a_send_that_fails_unexpectedly_fails_alone(
    live: ChatService, batches: Batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fails as a whole, and one of its sends then fails on its own with an
    unexpected error: that send is answered 20500, the others of the batch are stored."""
    batches.fail_when = lambda batch: len(batch) > 1
    send_one = message_commands.send_one

    async def failing(session: Any, new: message_commands.NewMessage) -> Any:
        if new.values["body"] == "boom":
            raise RuntimeError("a fault in the database driver")
        return await send_one(session, new)

    monkeypatch.setattr(message_commands, "send_one", failing)

    async def scenario() -> None:
        alice, bob, channel = await pair(live)
        async with alice, bob:
            bodies = ["m0", "boom", "m1", "m2"]
            await burst(
                alice, [(n + 1, "sendMessage", sent(channel, b)) for n, b in enumerate(bodies)]
            )
            answers = results(await replies(alice, len(bodies)))
            assert answers[1] == 20500
            assert [answers[n]["message"]["body"] for n in (0, 2, 3)] == ["m0", "m1", "m2"]
            events = await heard(bob)
            assert [e["body"] for e in events] == ["m0", "m1", "m2"]

    asyncio.run(scenario())
    assert len(batches.failed) == 1
