"""Broker messages (``realtime.fanout``) as ``realtime.events`` builds them: a batch of messages
travels as one broker message per run of consecutive messages of a channel, and every subscriber
reads back each event, its channel and its index."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from backchannel.realtime import events, fanout, objects, protocol

CREATED = datetime(2026, 11, 28)


def message(channel_sid: str, index: int, body: str = "") -> dict[str, Any]:
    return {
        "sid": f"IM{channel_sid[-3:]}{index:029d}",
        "account_sid": "AC" + "0" * 32,
        "service_sid": "IS" + "0" * 32,
        "channel_sid": channel_sid,
        "index": index,
        "from": "alice",
        "to": channel_sid,
        "body": body or f"message {index}\nwith a newline",
        "attributes": '{"line":"one\\ntwo"}',
        "media": None,
        "type": "text",
        "was_edited": False,
        "last_updated_by": None,
        "date_created": CREATED,
        "date_updated": CREATED,
        "key": None,
    }


def read(publications: list[events.Publication]) -> list[tuple[str, int | None, list[Any]]]:
    """(topic, first index, the events' data) of each broker message."""
    out = []
    for topic, data in publications:
        delivery = fanout.parse(data)
        assert delivery.kind == "e"
        frames = [json.loads(frame) for frame in delivery.frames]
        assert {frame["event"] for frame in frames} == {"messageAdded"}
        out.append((topic, delivery.index, [frame["data"] for frame in frames]))
    return out


def test_consecutive_messages_of_a_channel_travel_as_one_broker_message() -> None:
    a, b = "CH" + "a" * 32, "CH" + "b" * 32
    batch = [message(a, 4), message(a, 5), message(a, 6), message(b, 0), message(b, 1)]
    assert [
        (topic, index, [m["index"] for m in data])
        for topic, index, data in read(events.messages_added(batch))
    ] == [
        (fanout.channel_topic(a), 4, [4, 5, 6]),
        (fanout.channel_topic(b), 0, [0, 1]),
    ]


def test_each_event_of_a_run_reads_back_as_its_own_event_would() -> None:
    """Bodies and attributes with newlines in them do not split a frame."""
    a = "CH" + "a" * 32
    batch = [message(a, i) for i in range(3)]
    together = read(events.messages_added(batch))[0][2]
    alone = [read(events.message_added(m))[0][2][0] for m in batch]
    assert together == alone
    assert together[0]["body"] == "message 0\nwith a newline"


def test_a_channel_change_or_a_gap_in_indexes_starts_a_new_broker_message() -> None:
    a, b = "CH" + "a" * 32, "CH" + "b" * 32
    batch = [message(a, 1), message(b, 7), message(a, 2), message(a, 4), message(a, 5)]
    assert [(index, len(data)) for _, index, data in read(events.messages_added(batch))] == [
        (1, 1),
        (7, 1),
        (2, 1),
        (4, 2),
    ]
    assert events.messages_added([]) == []


def test_frames_built_around_an_encoded_message_are_the_frames_built_whole() -> None:
    """The live writer encodes a message once for its event and its reply: the text must be
    exactly what encoding the whole frame gives, whatever the message holds."""
    a = "CH" + "a" * 32
    tricky = message(a, 3, body='quote " backslash \\ newline \n tab \t é 😀 \u2028 </script>')
    data = objects.message(tricky)
    encoded = protocol.encode(data)
    assert protocol.event_encoded("messageAdded", encoded) == protocol.event("messageAdded", data)
    for request_id in (None, 1, 2**31 - 1):
        result = {"index": 3, "message": data}
        built = protocol.reply_encoded(request_id, protocol.encode(result))
        assert built == protocol.reply(request_id, result)
        assert json.loads(built) == {"id": request_id, "ok": True, "result": result}
    assert events.messages_added([tricky], [encoded]) == events.messages_added([tricky])
