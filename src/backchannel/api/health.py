"""``GET /healthz``: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger("backchannel.api")


async def healthz(request: Request) -> Response:
    try:
        await request.app.state.store.ping()
    except Exception as exc:  # any failure of the database means "not ready"
        log.warning("health check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


routes = [Route("/healthz", healthz, methods=["GET"])]
