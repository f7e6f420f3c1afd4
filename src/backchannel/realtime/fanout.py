"""What travels through the broker between nodes: topics, events and controls.

A broker message is one line of routing header, a newline, then the body::

    e|CH…|12|alice\n{"event":"messageAdded",…}     an event frame for the sessions on the topic
    c|||\n{"close":4203,"message":"…"}              a control for the sessions themselves

The header says, without parsing the body: the kind (``e`` event, ``c`` control), the channel and
message index the event belongs to (so a resuming session can drop what it already replayed), and
an identity whose sessions must not receive it (the typist of a typing event). Identities have no
control characters, so the newline ends the header safely.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any


def channel_topic(channel_sid: str) -> str:
    return f"channel:{channel_sid}"


def user_topic(user_sid: str) -> str:
    return f"user:{user_sid}"


def service_topic(service_sid: str) -> str:
    return f"service:{service_sid}"


def key_topic(key_sid: str) -> str:
    return f"key:{key_sid}"


def event_message(
    frame: str, *, channel: str = "", index: int | None = None, exclude: str = ""
) -> str:
    return f"e|{channel}|{'' if index is None else index}|{exclude}\n{frame}"


def control_message(**control: Any) -> str:
    return "c|||\n" + json.dumps(control, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Delivery:
    kind: str
    channel: str
    index: int | None
    exclude: str
    body: str


@functools.lru_cache(maxsize=256)
def parse(message: str) -> Delivery:
    """The routing header read, once for all the subscribers a message is dispatched to."""
    header, _, body = message.partition("\n")
    kind, channel, index, exclude = header.split("|", 3)
    return Delivery(kind, channel, int(index) if index else None, exclude, body)
