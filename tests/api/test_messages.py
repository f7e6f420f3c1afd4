"""Channel messages through the official twilio client against a real server."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from backchannel.store.tables import messages

from .seed import channel_counters, count_rows, make_channel

MISSING_CHANNEL = "CH" + "0" * 32
MISSING_MESSAGE = "IM" + "0" * 32
MAX_BODY = 32 * 1024


@pytest.fixture
def service(server):
    return server.twilio_client().chat.v2.services.create(friendly_name="messages")


@pytest.fixture
def channel(server, service):
    return make_channel(server, service.sid, unique_name="lobby")


def _messages(server, service, channel):
    return server.twilio_client().chat.v2.services(service.sid).channels(channel).messages


def _error(call):
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_create_fetch_update_delete_message(server, service, channel):
    messages_ = _messages(server, service, channel)
    message = messages_.create(body="hello", from_="alice", attributes='{"mood": "good"}')
    assert message.sid.startswith("IM")
    assert message.account_sid == server.account_sid
    assert (message.service_sid, message.channel_sid, message.to) == (service.sid, channel, channel)
    assert (message.body, message._from, message.index) == ("hello", "alice", 0)
    assert json.loads(message.attributes) == {"mood": "good"}
    assert message.was_edited is False
    assert message.last_updated_by is None
    assert message.type == "text"
    assert message.media is None
    assert message.url == (
        f"{server.url}/v2/Services/{service.sid}/Channels/{channel}/Messages/{message.sid}"
    )
    assert message.date_created == message.date_updated

    fetched = messages_(message.sid).fetch()
    assert (fetched.sid, fetched.body, fetched.index) == (message.sid, "hello", 0)

    updated = messages_(message.sid).update(body="hello, world", last_updated_by="alice")
    assert (updated.body, updated.was_edited, updated.last_updated_by) == (
        "hello, world",
        True,
        "alice",
    )
    assert updated.index == 0

    assert messages_(message.sid).delete() is True
    assert _error(messages_(message.sid).fetch) == (404, 50500)
    assert channel_counters(server, channel)["messages_count"] == 0


def test_message_defaults(server, service, channel):
    message = _messages(server, service, channel).create()
    assert (message._from, message.body, message.attributes) == ("system", "", "{}")
    with server.http() as http:
        raw = http.get(message.url).json()
    assert set(raw) == {
        "sid",
        "account_sid",
        "attributes",
        "service_sid",
        "to",
        "channel_sid",
        "date_created",
        "date_updated",
        "last_updated_by",
        "was_edited",
        "from",
        "body",
        "index",
        "type",
        "media",
        "url",
    }


def test_indexes_increase_from_zero_and_are_never_reused(server, service, channel):
    messages_ = _messages(server, service, channel)
    first = [messages_.create(body=f"m{i}") for i in range(3)]
    assert [m.index for m in first] == [0, 1, 2]
    messages_(first[2].sid).delete()
    messages_(first[0].sid).delete()
    assert messages_.create(body="m3").index == 3
    assert channel_counters(server, channel) == {
        "members_count": 0,
        "messages_count": 2,
        "next_message_index": 4,
    }
    other = make_channel(server, service.sid)
    assert _messages(server, service, other).create(body="elsewhere").index == 0


def test_editing_attributes_alone_is_not_an_edit(server, service, channel):
    messages_ = _messages(server, service, channel)
    message = messages_.create(body="same")
    assert messages_(message.sid).update(attributes='{"x": 1}').was_edited is False
    assert messages_(message.sid).update(body="same").was_edited is False
    changed = messages_(message.sid).update(from_="bob", body="different")
    assert (changed._from, changed.was_edited) == ("bob", True)
    assert messages_(message.sid).update(attributes="{}").was_edited is True


def test_create_and_update_with_dates(server, service, channel):
    messages_ = _messages(server, service, channel)
    created_at = datetime(2019, 4, 5, 6, 7, 8, tzinfo=UTC)
    message = messages_.create(body="old", date_created=created_at, last_updated_by="x")
    assert message.date_created == message.date_updated == created_at
    assert message.last_updated_by == "x"
    later = datetime(2019, 4, 6, tzinfo=UTC)
    updated = messages_(message.sid).update(date_updated=later)
    assert updated.date_updated == later
    assert updated.date_created == created_at
    assert messages_(message.sid).update(body="new").date_updated > later


def test_list_in_both_orders_through_several_pages(server, service, channel):
    messages_ = _messages(server, service, channel)
    created = [messages_.create(body=f"n{i}").sid for i in range(7)]
    assert [m.sid for m in messages_.list(page_size=3)] == created
    assert [m.sid for m in messages_.list(order="asc", page_size=2)] == created
    assert [m.sid for m in messages_.list(order="desc", page_size=2, limit=5)] == (
        created[::-1][:5]
    )
    assert [m.index for m in messages_.list(order="desc", page_size=3)] == list(range(6, -1, -1))
    page = messages_.page(order="desc", page_size=3)
    second = page.next_page()
    assert [m.index for m in second] == [3, 2, 1]
    assert [m.index for m in second.previous_page()] == [6, 5, 4]
    assert [m.index for m in second.next_page()] == [0]
    assert second.next_page().next_page() is None


def test_list_meta_keeps_the_order_in_its_urls(server, service, channel):
    for i in range(3):
        _messages(server, service, channel).create(body=str(i))
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Messages"
        body = http.get(url, params={"Order": "desc", "PageSize": 2}).json()
        meta = body["meta"]
        assert meta["key"] == "messages"
        assert meta["first_page_url"] == f"{server.url}{url}?Order=desc&PageSize=2&Page=0"
        assert [m["body"] for m in body["messages"]] == ["2", "1"]
        following = http.get(meta["next_page_url"]).json()
    assert [m["body"] for m in following["messages"]] == ["0"]
    assert following["meta"]["next_page_url"] is None


def test_body_limit_is_32_kib(server, service, channel):
    messages_ = _messages(server, service, channel)
    assert len(messages_.create(body="x" * MAX_BODY).body) == MAX_BODY
    assert _error(lambda: messages_.create(body="x" * (MAX_BODY + 1))) == (400, 50504)
    # Counted in bytes: 8193 four-byte characters are over the limit.
    assert _error(lambda: messages_.create(body="\U0001f600" * 8193)) == (400, 50504)
    message = messages_.create(body="short")
    assert _error(lambda: messages_(message.sid).update(body="y" * (MAX_BODY + 1))) == (
        400,
        50504,
    )
    assert messages_(message.sid).fetch().body == "short"
    assert channel_counters(server, channel)["messages_count"] == 2


def test_media_messages_are_refused_clearly(server, service, channel):
    messages_ = _messages(server, service, channel)
    with pytest.raises(TwilioRestException) as caught:
        messages_.create(media_sid="ME" + "a" * 32)
    assert (caught.value.status, caught.value.code) == (400, 20001)
    assert "not supported" in caught.value.msg
    assert channel_counters(server, channel)["next_message_index"] == 0


@pytest.mark.parametrize(
    "data",
    [
        {"Body": "nul\x00"},
        {"Body": "ok", "From": ""},
        {"Body": "ok", "From": "f" * 257},
        {"Body": "ok", "Attributes": "nope"},
        {"Body": "ok", "Attributes": '"a string"'},
        {"Body": "ok", "Attributes": json.dumps({"k": "v" * 16400})},
        {"Body": "ok", "Attributes": '{"k": NaN}'},
        {"Body": "ok", "Attributes": '{"k": [-Infinity]}'},
        {"Body": "ok", "DateCreated": "last week"},
        {"Body": "ok", "DateUpdated": "2020-02-30T00:00:00Z"},
        {"Body": "ok", "LastUpdatedBy": "z" * 300},
        {"Body": "ok", "MediaSid": "ME" + "0" * 32},
    ],
)
def test_create_rejects_bad_input_and_changes_nothing(server, service, channel, data):
    with server.http() as http:
        response = http.post(f"/v2/Services/{service.sid}/Channels/{channel}/Messages", data=data)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 20001
    assert channel_counters(server, channel) == {
        "members_count": 0,
        "messages_count": 0,
        "next_message_index": 0,
    }
    assert count_rows(server, messages, channel_sid=channel) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"Body": "changed", "Attributes": "[]"},
        {"Body": "changed", "From": ""},
        {"Body": "changed", "DateUpdated": "soon"},
        {"Body": "\x00"},
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(server, service, channel, data):
    message = _messages(server, service, channel).create(body="steady")
    with server.http() as http:
        response = http.post(message.url, data=data)
        assert (response.status_code, response.json()["code"]) == (400, 20001)
        after = http.get(message.url).json()
    assert (after["body"], after["was_edited"]) == ("steady", False)
    assert after["date_updated"] == after["date_created"]


def _token(raw):
    return "PT" + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"Order": "sideways"},
        {"Order": "DESC"},
        {"PageSize": "0"},
        {"PageToken": "x"},
        # Keys beyond the 32-bit key columns: refused, not passed on to the database.
        {"PageToken": _token("F9999999999999999999")},
        {"PageToken": _token("B2147483648")},
    ],
)
def test_list_rejects_bad_parameters(server, service, channel, params):
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Messages"
        response = http.get(url, params=params)
    assert (response.status_code, response.json()["code"]) == (400, 20001)


@pytest.mark.parametrize("key", [MISSING_MESSAGE, "IMnot-a-sid", "%00", "m" * 300])
def test_missing_or_malformed_message_sids_answer_50500(server, service, channel, key):
    _messages(server, service, channel).create(body="present")
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Messages/{key}"
        for method in ("GET", "POST", "DELETE"):
            response = http.request(method, url)
            assert (response.status_code, response.json()["code"]) == (404, 50500)
    assert channel_counters(server, channel)["messages_count"] == 1


def test_a_message_is_found_only_in_its_own_channel(server, service, channel):
    message = _messages(server, service, channel).create(body="here")
    other = make_channel(server, service.sid)
    assert _error(_messages(server, service, other)(message.sid).fetch) == (404, 50500)
    assert _error(_messages(server, service, other)(message.sid).delete) == (404, 50500)
    assert channel_counters(server, other)["messages_count"] == 0
    assert _messages(server, service, "lobby")(message.sid).fetch().body == "here"


def test_another_accounts_messages_answer_like_missing_ones(server, service, channel):
    message = _messages(server, service, channel).create(body="secret")
    other = server.new_tenant()
    theirs = other.twilio_client().chat.v2.services(service.sid).channels(channel).messages
    assert _error(lambda: theirs.create(body="spam")) == (404, 20404)
    assert _error(theirs(message.sid).fetch) == (404, 20404)
    assert _error(lambda: theirs(message.sid).update(body="defaced")) == (404, 20404)
    assert _error(theirs(message.sid).delete) == (404, 20404)
    with other.http() as http:
        foreign = http.get(message.url)
        missing = http.get(message.url.replace(service.sid, "IS" + "0" * 32))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"]
    their_service = other.twilio_client().chat.v2.services.create(friendly_name="theirs")
    via_theirs = other.twilio_client().chat.v2.services(their_service.sid).channels(channel)
    assert _error(lambda: via_theirs.messages.create(body="spam")) == (404, 50300)
    mine = _messages(server, service, channel)(message.sid).fetch()
    assert (mine.body, mine.was_edited) == ("secret", False)
    assert channel_counters(server, channel)["messages_count"] == 1


def test_list_after_the_largest_key_is_empty(server, service, channel):
    _messages(server, service, channel).create(body="only")
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{channel}/Messages"
        body = http.get(url, params={"PageToken": _token("F2147483647")}).json()
    assert body["messages"] == []


def test_missing_channel_answers_50300(server, service):
    with server.http() as http:
        url = f"/v2/Services/{service.sid}/Channels/{MISSING_CHANNEL}/Messages"
        for method in ("GET", "POST"):
            response = http.request(method, url, data={"Body": "x"})
            assert (response.status_code, response.json()["code"]) == (404, 50300)


def test_concurrent_creates_get_every_index_once(server, service, channel):
    def send(i):
        with server.http() as http:
            url = f"/v2/Services/{service.sid}/Channels/{channel}/Messages"
            response = http.post(url, data={"Body": f"c{i}", "From": f"user{i}"})
            assert response.status_code == 201, response.text
            return response.json()["index"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        indexes = list(pool.map(send, range(20)))
    assert sorted(indexes) == list(range(20))
    assert channel_counters(server, channel) == {
        "members_count": 0,
        "messages_count": 20,
        "next_message_index": 20,
    }
    listed = _messages(server, service, channel).list(page_size=7)
    assert [m.index for m in listed] == list(range(20))


def test_concurrent_deletes_count_a_message_out_once(server, service, channel):
    messages_ = _messages(server, service, channel)
    message = messages_.create(body="going")
    messages_.create(body="staying")

    def remove(_):
        with server.http() as http:
            return http.delete(message.url).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(remove, range(8)))
    assert statuses == [204] + [404] * 7
    assert channel_counters(server, channel)["messages_count"] == 1
