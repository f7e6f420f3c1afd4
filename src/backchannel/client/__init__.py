"""The Python client SDK of Backchannel: live chat over the client protocol (docs/protocol.md).

    from backchannel.client import ChatClient

    client = await ChatClient.create(token, url="http://127.0.0.1:8080", token_provider=fetch)

It speaks only the wire protocol, so it works against any Backchannel server it can reach.
"""

from backchannel.client.backoff import Backoff
from backchannel.client.channel import Channel
from backchannel.client.client import ChatClient
from backchannel.client.errors import ChatError, ConnectionLostError, SessionClosedError
from backchannel.client.objects import Invite, Member, Message, Paginator, User
from backchannel.client.states import ConnectionState, ConnectionStateError

__all__ = [
    "Backoff",
    "Channel",
    "ChatClient",
    "ChatError",
    "ConnectionLostError",
    "ConnectionState",
    "ConnectionStateError",
    "Invite",
    "Member",
    "Message",
    "Paginator",
    "SessionClosedError",
    "User",
]
