"""``GET /openapi.json``: the OpenAPI 3 document of what this server serves.

The document is built from Twilio's own descriptions, shipped in ``reference/`` (twilio-oai, MIT
licence beside them): Chat v2 and the Keys part of the 2010 API. It keeps exactly the
(path, method) pairs that the app's routes implement, read from the routes themselves, so a
resource added to ``create_app`` appears here without further work; a route that neither
reference describes and that is not documented below is left out (the tests catch that).
``servers`` is this server's base URL. Our own endpoints (health, the client endpoints, this
document) are described by hand; the WebSocket is described in text, as OpenAPI has no words
for it. The 2010 API's paths are also served without their ``.json`` suffix; those aliases are
documented from the same operations.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from backchannel import __version__
from backchannel.api.calls import base_url
from backchannel.api.paging import MAX_PAGE_SIZE

REFERENCES = ("twilio_chat_v2.json", "twilio_api_v2010_keys.json")
METHODS = ("get", "put", "post", "delete", "patch")
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")

ERROR_SCHEMA = "backchannel.error"
_ERROR_RESPONSE = {
    "description": "Twilio's error envelope, with Twilio's code for what went wrong",
    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}},
}
_CLIENT_SCHEME = "accessToken"


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# Endpoints of ours, by (path, method). Each is kept only while a route serves it.
OWN: dict[tuple[str, str], dict[str, Any]] = {
    ("/healthz", "get"): {
        "operationId": "Healthz",
        "tags": ["Backchannel"],
        "summary": "Readiness: 200 when the database answers, 503 when it does not",
        "security": [],
        "responses": {
            "200": _json_response(
                "Ready", {"type": "object", "properties": {"status": {"enum": ["ok"]}}}
            ),
            "503": _json_response(
                "The database does not answer",
                {"type": "object", "properties": {"status": {"enum": ["unavailable"]}}},
            ),
        },
    },
    ("/openapi.json", "get"): {
        "operationId": "OpenApi",
        "tags": ["Backchannel"],
        "summary": "This document",
        "security": [],
        "responses": {"200": _json_response("The OpenAPI document", {"type": "object"})},
    },
    ("/client/v1/me", "get"): {
        "operationId": "FetchMe",
        "tags": ["Backchannel"],
        "summary": "Who the Access Token in X-Twilio-Token is, on this server",
        "description": (
            "Verifies the token against the database (active API key of the account in `sub`, "
            "a chat grant for a service of that account). The first valid token for an "
            "identity creates its User with the service's default role. A bad token answers "
            "401 with the token's Twilio error code (20101-20107, 20157)."
        ),
        "security": [{_CLIENT_SCHEME: []}],
        "responses": {
            "200": _json_response(
                "The caller",
                {
                    "type": "object",
                    "properties": {
                        "identity": {"type": "string"},
                        "user_sid": {"type": "string", "pattern": "^US[0-9a-fA-F]{32}$"},
                        "service_sid": {"type": "string", "pattern": "^IS[0-9a-fA-F]{32}$"},
                        "account_sid": {"type": "string", "pattern": "^AC[0-9a-fA-F]{32}$"},
                        "expires_at": {"type": "string", "format": "date-time"},
                    },
                },
            ),
            "401": _ERROR_RESPONSE,
        },
    },
}

# WebSocket endpoints, described in the document's text.
WEBSOCKETS = {
    "/client/v1/ws": (
        "the realtime client protocol: one WebSocket per client session, authenticated by an "
        "Access Token in its first frame; frames, commands, events and close codes are in "
        "docs/protocol.md"
    ),
}

_DESCRIPTION = (
    "Backchannel, a self-hosted Twilio-Programmable-Chat-compatible chat service. REST requests "
    "authenticate with HTTP Basic (Account SID and auth token, or API key SID and secret); "
    "bodies are form-encoded with PascalCase parameters; responses are JSON. Paths, parameters "
    "and schemas come from Twilio's OpenAPI descriptions (twilio-oai, MIT licence), limited to "
    "what this server implements."
)


def shape(path: str) -> str:
    """The path with its parameters unnamed, so ``{Sid}`` and ``{Sid:str}`` compare equal."""
    return _PARAM.sub("{}", path)


def served(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, str]]:
    """The (path, method) pairs of the HTTP routes; HEAD is implied by GET and left out, and so
    are routes with ``include_in_schema=False`` (the chat web app's page and its helper)."""
    for route in routes:
        if isinstance(route, Route) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield _PARAM.sub(r"{\1}", route.path), method.lower()


@cache
def reference() -> dict[str, Any]:
    """Twilio's descriptions, merged: ``paths`` and ``components`` of both, read once."""
    merged: dict[str, Any] = {"paths": {}, "schemas": {}, "securitySchemes": {}, "tags": []}
    folder = resources.files("backchannel.api") / "reference"
    for name in REFERENCES:
        spec = json.loads((folder / name).read_text("utf-8"))
        merged["paths"].update(spec["paths"])
        merged["schemas"].update(spec["components"].get("schemas", {}))
        merged["securitySchemes"].update(spec["components"].get("securitySchemes", {}))
        merged["tags"].extend(spec.get("tags", []))
    return merged


def _twilio_operation(path: str, method: str) -> tuple[str, dict[str, Any]] | None:
    """Twilio's (path, operation) for a served path, matched by shape; ``.json`` optional."""
    by_shape = {shape(p): p for p in reference()["paths"]}
    for candidate in (shape(path), shape(path) + ".json"):
        theirs = by_shape.get(candidate)
        if theirs is not None and method in reference()["paths"][theirs]:
            return theirs, reference()["paths"][theirs][method]
    return None


def _adapt(path: str, theirs: str, operation: dict[str, Any]) -> dict[str, Any]:
    """A copy of Twilio's operation at ``theirs``, as this server answers it at ``path``."""
    op = copy.deepcopy(operation)
    op.pop("servers", None)  # Twilio's hosts; the document's ``servers`` applies
    op.setdefault("security", [{"accountSid_authToken": []}])
    op.setdefault("responses", {}).setdefault("default", _ERROR_RESPONSE)
    if not op.get("description"):
        op["description"] = reference()["paths"][theirs].get("description", "")
    # Name path parameters as the route does (a served path may differ from Twilio's only there).
    names = dict(zip(_PARAM.findall(theirs), _PARAM.findall(path), strict=True))
    for param in op.get("parameters", []):
        if param.get("in") == "path":
            param["name"] = names.get(param["name"], param["name"])
        elif param.get("in") == "query" and param.get("name") == "PageSize":
            param["schema"]["maximum"] = MAX_PAGE_SIZE
    if shape(theirs) != shape(path):  # the 2010 API's paths without ``.json``
        op["operationId"] += "WithoutJsonSuffix"
        op["description"] = f"The same as `{theirs}`."
    return op


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _used_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Only the schemas the paths reach, directly or through other schemas."""
    keep: dict[str, Any] = {}
    todo = list(_refs(paths))
    while todo:
        name = todo.pop()
        if name not in keep and name in schemas:
            keep[name] = schemas[name]
            todo.extend(_refs(schemas[name]))
    return dict(sorted(keep.items()))


def _websocket_text(routes: Iterable[BaseRoute]) -> str:
    lines = []
    for route in routes:
        if isinstance(route, WebSocketRoute):
            what = WEBSOCKETS.get(route.path, "a WebSocket endpoint (see docs/protocol.md)")
            lines.append(f"\n\nWebSocket `{route.path}`: {what}.")
    return "".join(lines)


def build(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The document for these routes, without ``servers`` (that depends on the request)."""
    routes = list(routes)
    paths: dict[str, dict[str, Any]] = {}
    for path, method in served(routes):
        own = OWN.get((path, method))
        if own is not None:
            paths.setdefault(path, {})[method] = copy.deepcopy(own)
            continue
        found = _twilio_operation(path, method)
        if found is not None:
            paths.setdefault(path, {})[method] = _adapt(path, *found)
    ref = reference()
    schemas = _used_schemas(paths, ref["schemas"])
    schemas[ERROR_SCHEMA] = {
        "type": "object",
        "properties": {
            "code": {"type": "integer"},
            "message": {"type": "string"},
            "more_info": {"type": "string", "format": "uri"},
            "status": {"type": "integer"},
        },
    }
    used_tags = {
        tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])
    }
    tags = [t for t in ref["tags"] if t["name"] in used_tags]
    tags.append({"name": "Backchannel", "description": "Endpoints of Backchannel's own"})
    return {
        "openapi": "3.0.1",
        "info": {
            "title": "Backchannel",
            "version": __version__,
            "description": _DESCRIPTION + _websocket_text(routes),
            "license": {"name": "MIT"},
        },
        "tags": tags,
        "security": [{"accountSid_authToken": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                **ref["securitySchemes"],
                _CLIENT_SCHEME: {"type": "apiKey", "in": "header", "name": "X-Twilio-Token"},
            },
            "schemas": schemas,
        },
    }


async def openapi_json(request: Request) -> Response:
    state = request.app.state
    document = getattr(state, "openapi", None)
    if document is None:
        document = state.openapi = build(request.app.routes)
    return JSONResponse({**document, "servers": [{"url": base_url(request)}]})


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
