"""``GET /openapi.json``: a valid OpenAPI 3 document that matches what the server serves."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate
from starlette.routing import WebSocketRoute
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant

from backchannel.api import create_app
from backchannel.api.openapi import build, served
from backchannel.config import Config

# Which seeded resource a ``{Sid}`` names, by the path segment before it.
_SID_OF = {
    "Services": "service",
    "Channels": "channel",
    "Roles": "role",
    "Users": "user",
    "Members": "member",
    "Messages": "message",
    "Invites": "invite",
    "Keys": "key",
}


def document(server) -> dict[str, Any]:
    response = server.http().get("/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(path, method) for path, item in doc["paths"].items() for method in item]


# How to create one resource of each kind: (kind, its list path, form).
_CREATES = [
    ("service", "/v2/Services", {"FriendlyName": "openapi"}),
    (
        "role",
        "/v2/Services/{ServiceSid}/Roles",
        {"FriendlyName": "r", "Type": "channel", "Permission": "sendMessage"},
    ),
    ("user", "/v2/Services/{ServiceSid}/Users", {"Identity": "alice"}),
    ("channel", "/v2/Services/{ServiceSid}/Channels", {"FriendlyName": "general"}),
    ("member", "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Members", {"Identity": "alice"}),
    (
        "message",
        "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Messages",
        {"Body": "hello", "From": "alice"},
    ),
    ("invite", "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Invites", {"Identity": "bob"}),
    ("key", "/2010-04-01/Accounts/{AccountSid}/Keys.json", {"FriendlyName": "k"}),
]


def seed(server, doc: dict[str, Any]) -> dict[str, str]:
    """One resource of every kind the document creates, through the REST API; SIDs by kind."""
    http = server.http()
    sids = {"account": server.account_sid}
    for kind, path, form in _CREATES:
        if "post" in doc["paths"].get(path, {}):
            response = http.post(fill(path, sids), data=form)
            assert response.status_code == 201, response.text
            sids[kind] = response.json()["sid"]
    return sids


def fill(path: str, sids: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "Sid":
            segment = path[: match.start()].rstrip("/").rsplit("/", 1)[1]
            return sids[_SID_OF[segment]]
        return sids[name.removesuffix("Sid").lower()]

    return re.sub(r"\{(\w+)\}", one, path)


def request(server, method: str, path: str, sids: dict[str, str]) -> Any:
    headers = {}
    if path.startswith("/client/"):
        token = AccessToken(server.account_sid, server.key_sid, server.key_secret, identity="alice")
        token.add_grant(ChatGrant(service_sid=sids["service"]))
        headers["X-Twilio-Token"] = token.to_jwt()
    return server.http().request(method.upper(), fill(path, sids), headers=headers)


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_openapi_document_is_valid_openapi_3(server):
    doc = document(server)
    validate(doc)
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": server.url}]


def test_every_route_of_the_app_is_documented_and_nothing_else():
    app = create_app(Config())
    doc = build(app.routes)
    assert set(served(app.routes)) == set(operations(doc))
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            assert f"`{route.path}`" in doc["info"]["description"]


def test_every_documented_operation_is_served(server):
    doc = document(server)
    sids = seed(server, doc)
    for path, method in operations(doc):
        tree = seed(server, doc) if method == "delete" else sids  # each delete on a tree of its own
        response = request(server, method, path, tree)
        assert response.status_code not in (404, 405), (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)


def test_list_responses_have_the_keys_their_schema_describes(server):
    doc = document(server)
    sids = seed(server, doc)
    checked = 0
    for path, method in operations(doc):
        ok = doc["paths"][path][method]["responses"].get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        lists = [k for k, v in schema.get("properties", {}).items() if v.get("type") == "array"]
        if method != "get" or not lists:
            continue
        body = request(server, method, path, sids).json()
        assert set(body) == set(schema["properties"]), path
        if "meta" in body:
            assert set(body["meta"]) == set(schema["properties"]["meta"]["properties"]), path
        (key,) = lists
        fields = set(resolve(doc, schema["properties"][key]["items"])["properties"])
        assert body[key], path
        for item in body[key]:
            assert set(item) == fields, (path, set(item) ^ fields)
        checked += 1
    assert checked >= 6  # Services, Roles, Users, Channels, UserChannels, Keys, …
