"""The parents named in a path (service, channel), loaded for the caller's account or 404.

Another account's resource is reported exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from backchannel.api.calls import Call
from backchannel.chat.errors import ChannelNotFoundError
from backchannel.store.channels import get_channel


async def load_channel(
    call: Call, service: dict[str, Any], name: str = "ChannelSid"
) -> dict[str, Any]:
    """The channel named in the path by SID or unique name, within ``service``; else 50300."""
    channel = await get_channel(call.conn, service["sid"], call.path_param(name))
    if channel is None:
        raise ChannelNotFoundError(f"Channel {call.path_param(name)} not found")
    return channel
