"""The ASGI application: ``create_app(config)``.

On start the lifespan opens the store, applies migrations and starts the broker and the node of
live sessions; on shutdown it asks live sessions to reconnect elsewhere, then closes it all.
Each resource module contributes its ``routes``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from backchannel.api import (
    channels,
    client,
    errors,
    health,
    invites,
    keys,
    members,
    messages,
    openapi,
    roles,
    services,
    user_channels,
    users,
)
from backchannel.config import Config
from backchannel.realtime.broker import MemoryBroker, make_broker
from backchannel.realtime.node import Node
from backchannel.store import Store
from backchannel.tokenserver import PREFIX, create_tokenserver, use_store
from backchannel.web.app import routes as web_app_routes


def create_app(
    config: Config, store: Store | None = None, *, clock: Callable[[], float] = time.time
) -> Starlette:
    """The app; ``store`` defaults to one built from ``config`` (the app then owns it).

    ``clock`` (Unix time) is what token lifetimes are checked against; tests may freeze it.
    The token server ("your backend", backchannel.tokenserver) is mounted at ``/auth``.
    """
    auth = create_tokenserver(config, clock=clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = store is None
        app.state.store = Store.from_config(config) if store is None else store
        broker = make_broker(config.broker_url)
        try:
            await app.state.store.migrate()
            use_store(auth, app.state.store)
            await broker.start()
            app.state.node = Node(
                app.state.store,
                broker,
                clock=clock,
                rate=config.request_rate,
                burst=config.request_burst,
            )
            if isinstance(broker, MemoryBroker):
                await app.state.node.forget_presence()  # the only node: nobody is online yet
            yield
            await app.state.node.shutdown()
        finally:
            await broker.close()
            if own:
                await app.state.store.close()

    app = Starlette(
        routes=[
            *health.routes,
            *services.routes,
            *roles.routes,
            *users.routes,
            *channels.routes,
            *user_channels.routes,
            *members.routes,
            *messages.routes,
            *invites.routes,
            *keys.routes,
            *client.routes,
            *openapi.routes,
            *web_app_routes,
            Mount("/static", app=StaticFiles(packages=[("backchannel.web", "static")])),
            Mount(PREFIX, app=auth),
        ],
        exception_handlers=errors.HANDLERS,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.clock = clock
    return app
