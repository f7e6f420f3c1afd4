"""Concurrent deletes that share rows: no deadlock surfaces as a 500, counters stay exact.

Deleting a user touches every channel it is in; deleting a channel or removing a member
touches the channel's users. On PostgreSQL these lock the same rows from opposite ends; on
SQLite transactions are serial and the test checks the counters only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backchannel.store.tables import members, users

from .seed import channel_counters, count_rows, joined_channels

USERS = 8
CHANNELS = 6
ROUNDS = 4


def _round(server: Any) -> None:
    client = server.twilio_client()
    service = client.chat.v2.services.create(friendly_name="races")
    api = client.chat.v2.services(service.sid)
    identities = [f"u{i}" for i in range(USERS)]
    channels = [api.channels.create(unique_name=f"c{i}").sid for i in range(CHANNELS)]

    def join(channel: str) -> None:
        own = server.twilio_client().chat.v2.services(service.sid)
        for identity in identities:
            own.channels(channel).members.create(identity=identity)

    with ThreadPoolExecutor(max_workers=CHANNELS) as pool:
        list(pool.map(join, channels))

    def on_own_client(work: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            return work(server.twilio_client().chat.v2.services(service.sid))

        return run

    doomed_users, kept_users = identities[:4], identities[4:]
    doomed_channels, kept_channels = channels[:3], channels[3:]
    tasks = [on_own_client(lambda s, u=u: s.users(u).delete()) for u in doomed_users]
    tasks += [on_own_client(lambda s, c=c: s.channels(c).delete()) for c in doomed_channels]
    # Removing a member and leaving lock channel → member → user, like a channel delete.
    tasks.append(on_own_client(lambda s: s.channels(kept_channels[0]).members("u4").delete()))
    tasks.append(on_own_client(lambda s: s.users("u5").user_channels(kept_channels[1]).delete()))
    tasks.append(on_own_client(lambda s: s.channels(kept_channels[2]).members("u6").delete()))

    start = threading.Barrier(len(tasks))

    def together(task: Callable[[], Any]) -> Any:
        start.wait()
        return task()

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        results = list(pool.map(together, tasks))  # a 500 would raise TwilioRestException
    assert results == [True] * len(tasks)

    for channel in doomed_channels:
        assert count_rows(server, members, channel_sid=channel) == 0
    for identity in doomed_users:
        assert joined_channels(server, service.sid, identity) is None
    for channel in kept_channels:
        rows = count_rows(server, members, channel_sid=channel)
        assert rows == len(kept_users) - 1
        assert channel_counters(server, channel)["members_count"] == rows
    removed = {"u4": 1, "u5": 1, "u6": 1, "u7": 0}
    for identity in kept_users:
        user = api.users(identity).fetch()
        rows = count_rows(server, members, user_sid=user.sid)
        assert rows == len(kept_channels) - removed[identity]
        assert joined_channels(server, service.sid, identity) == rows
        assert user.joined_channels_count == rows
    assert count_rows(server, users, service_sid=service.sid) == len(kept_users)


def test_user_and_channel_deletes_racing_over_shared_members(server: Any) -> None:
    for _ in range(ROUNDS):
        _round(server)
