"""The reference "your backend" of the access-token guide: it knows who the user is, by a login
(session cookie) or an API token, and hands out chat tokens for that identity.

``create_tokenserver(config)`` is the ASGI app ``backchannel serve`` mounts at ``/auth``;
``create_standalone_app(config)`` is ``backchannel tokenserver``. docs/token-server.md describes
the endpoints.
"""

from backchannel.tokenserver.app import (
    COOKIE,
    PREFIX,
    create_standalone_app,
    create_tokenserver,
    use_store,
)

__all__ = ["COOKIE", "PREFIX", "create_standalone_app", "create_tokenserver", "use_store"]
