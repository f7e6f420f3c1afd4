"""The events a change raises for live sessions, as ``(topic, broker message)`` publications.

The REST API and live commands raise the same events through these functions. Callers publish
them only after the change has committed (``Call.publish`` in the API, ``Node.publish`` for live
commands), so a session never hears of a change that was rolled back.

Routing (docs/protocol.md, "Events"): channel activity goes to the channel's topic, which every
session of every member subscribes to; a public channel's own changes go to the service topic;
what concerns one user (joined, left, invited) goes to that user's topic, preceded by the
control that makes their sessions subscribe to or drop the channel.
"""

from __future__ import annotations

from typing import Any

from backchannel.realtime import fanout, objects, protocol
from backchannel.realtime.protocol import Close, event

Publication = tuple[str, str]


def _on_channel(name: str, data: Any, channel_sid: str, **header: Any) -> Publication:
    message = fanout.event_message(event(name, data), channel=channel_sid, **header)
    return fanout.channel_topic(channel_sid), message


def message_added(message: dict[str, Any]) -> list[Publication]:
    return messages_added([message])


def messages_added(
    messages: list[dict[str, Any]], encoded: list[str] | None = None
) -> list[Publication]:
    """``messageAdded`` for each message, in order: one broker message for each run of
    consecutive messages of a channel (as a batch of sends stores them). ``encoded``: each
    message's ``objects.message``, already encoded, where the caller has it."""
    if encoded is None:
        encoded = [protocol.encode(objects.message(message)) for message in messages]
    publications: list[Publication] = []
    start = 0
    for n in range(1, len(messages) + 1):
        if n == len(messages) or (
            messages[n]["channel_sid"] != messages[n - 1]["channel_sid"]
            or messages[n]["index"] != messages[n - 1]["index"] + 1
        ):
            channel_sid, first_index = messages[start]["channel_sid"], messages[start]["index"]
            frames = [protocol.event_encoded("messageAdded", data) for data in encoded[start:n]]
            data = fanout.events_message(frames, channel=channel_sid, first_index=first_index)
            publications.append((fanout.channel_topic(channel_sid), data))
            start = n
    return publications


def message_updated(message: dict[str, Any]) -> list[Publication]:
    return [_on_channel("messageUpdated", objects.message(message), message["channel_sid"])]


def message_removed(message: dict[str, Any]) -> list[Publication]:
    return [_on_channel("messageRemoved", objects.message(message), message["channel_sid"])]


def member_joined(member: dict[str, Any], channel: dict[str, Any]) -> list[Publication]:
    user = fanout.user_topic(member["user_sid"])
    return [
        (user, fanout.control_message(join=channel["sid"])),
        (user, fanout.event_message(event("channelJoined", objects.channel(channel)))),
        _on_channel("memberJoined", objects.member(member), channel["sid"]),
    ]


def member_left(member: dict[str, Any], channel: dict[str, Any]) -> list[Publication]:
    user = fanout.user_topic(member["user_sid"])
    return [
        (user, fanout.control_message(leave=channel["sid"])),
        (user, fanout.event_message(event("channelLeft", objects.channel(channel)))),
        _on_channel("memberLeft", objects.member(member), channel["sid"]),
    ]


def member_updated(member: dict[str, Any]) -> list[Publication]:
    return [_on_channel("memberUpdated", objects.member(member), member["channel_sid"])]


def _channel_audience(channel: dict[str, Any]) -> str:
    if channel["type"] == "public":
        return fanout.service_topic(channel["service_sid"])
    return fanout.channel_topic(channel["sid"])


def channel_added(channel: dict[str, Any]) -> list[Publication]:
    if channel["type"] != "public":
        return []  # a private channel shows itself to the users it is added to
    frame = event("channelAdded", objects.channel(channel))
    return [(_channel_audience(channel), fanout.event_message(frame))]


def channel_updated(channel: dict[str, Any]) -> list[Publication]:
    frame = event("channelUpdated", objects.channel(channel))
    return [(_channel_audience(channel), fanout.event_message(frame))]


def channel_removed(channel: dict[str, Any]) -> list[Publication]:
    frame = event("channelRemoved", objects.channel(channel))
    return [
        (_channel_audience(channel), fanout.event_message(frame)),
        (fanout.channel_topic(channel["sid"]), fanout.control_message(leave=channel["sid"])),
    ]


def invited(invite: dict[str, Any], channel: dict[str, Any], user_sid: str) -> list[Publication]:
    data = {**objects.channel(channel, status="invited"), "invite": objects.invite(invite)}
    return [(fanout.user_topic(user_sid), fanout.event_message(event("channelInvited", data)))]


def typing(channel_sid: str, identity: str, *, started: bool) -> list[Publication]:
    name = "typingStarted" if started else "typingEnded"
    data = {"channel_sid": channel_sid, "identity": identity}
    return [_on_channel(name, data, channel_sid, exclude=identity)]


def user_updated(
    user: dict[str, Any], updated: list[str], channel_sids: list[str]
) -> list[Publication]:
    """To the user's own sessions, and to the members of the user's channels."""
    frame = event("userUpdated", {"user": objects.user(user), "updated": updated})
    publications = [(fanout.user_topic(user["sid"]), fanout.event_message(frame))]
    for channel_sid in channel_sids:
        message = fanout.event_message(frame, channel=channel_sid, exclude=user["identity"])
        publications.append((fanout.channel_topic(channel_sid), message))
    return publications


def user_deleted(user_sid: str) -> list[Publication]:
    control = fanout.control_message(close=Close.USER_DELETED, code=20404, message="user deleted")
    return [(fanout.user_topic(user_sid), control)]


def service_deleted(service_sid: str) -> list[Publication]:
    control = fanout.control_message(
        close=Close.SERVICE_DELETED, code=20404, message="service deleted"
    )
    return [(fanout.service_topic(service_sid), control)]


def key_deleted(key_sid: str) -> list[Publication]:
    control = fanout.control_message(
        close=Close.TOKEN_ISSUER, code=20103, message="API key deleted"
    )
    return [(fanout.key_topic(key_sid), control)]
