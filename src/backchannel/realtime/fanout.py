"""What travels through the broker between nodes: topics, events and controls.

A broker message is one line of routing header, a newline, then the body::

    e|CH…|12|alice\n{"event":"messageAdded",…}     an event frame for the sessions on the topic
    e|CH…|12|\n{…index 12…}\n{…index 13…}          several, one a line: consecutive messages
    c|||\n{"close":4203,"message":"…"}              a control for the sessions themselves

The header says, without parsing the body: the kind (``e`` events, ``c`` control), the channel and
message index the (first) event belongs to (so a resuming session can drop what it already
replayed; the frames after the first belong to the indexes that follow), and an identity whose
sessions must not receive it (the typist of a typing event). Identities have no control
characters and frames are JSON with every control character escaped, so a newline ends the
header, and each frame, safely. A batch of messages committed together thus reaches each
subscriber in one call, not one call per message.
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


def events_message(frames: list[str], *, channel: str, first_index: int) -> str:
    """The events of consecutive messages of one channel, from index ``first_index`` on."""
    return event_message("\n".join(frames), channel=channel, index=first_index)


def control_message(**control: Any) -> str:
    return "c|||\n" + json.dumps(control, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Delivery:
    kind: str
    channel: str
    index: int | None  # of the first frame
    exclude: str
    body: str
    frames: tuple[str, ...]  # of an event message: its frames, in order
    size: int  # their length in all


@functools.lru_cache(maxsize=256)
def parse(message: str) -> Delivery:
    """The routing header read, once for all the subscribers a message is dispatched to."""
    header, _, body = message.partition("\n")
    kind, channel, index, exclude = header.split("|", 3)
    frames = tuple(body.split("\n")) if kind == "e" else ()
    size = sum(map(len, frames))
    return Delivery(kind, channel, int(index) if index else None, exclude, body, frames, size)
