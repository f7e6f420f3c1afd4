"""Where to resume: the last message index this client has seen, per channel.

Every ``authenticate`` sends it (``resume``), and the server replays each channel's later
messages once, in order. It grows from every message the client receives (live events, replies
to ``sendMessage`` and ``getMessages``); a channel the client is in but has seen no message of
starts from what the channel holds when the client learns of it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ResumePoints"]


class ResumePoints:
    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def snapshot(self) -> dict[str, int]:
        """The ``resume`` argument of ``authenticate``."""
        return dict(self._seen)

    def saw(self, channel_sid: Any, index: Any) -> None:
        """Message ``index`` of ``channel_sid`` has reached the client."""
        if (
            isinstance(channel_sid, str)
            and type(index) is int
            and index > self._seen.get(channel_sid, -1)
        ):
            self._seen[channel_sid] = index

    def baseline(self, channel_sid: str, messages_count: Any) -> None:
        """A joined channel with no message seen yet: count what it holds now as seen."""
        if channel_sid not in self._seen and type(messages_count) is int:
            self._seen[channel_sid] = messages_count - 1

    def forget(self, channel_sid: str) -> None:
        """The client left the channel: a later rejoin must not replay the time away."""
        self._seen.pop(channel_sid, None)
