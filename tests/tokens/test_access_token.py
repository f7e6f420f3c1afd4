"""Minting: ``AccessToken`` and the grants behave like twilio-python's, and refuse bad input."""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from twilio.jwt import access_token as twilio_access_token
from twilio.jwt.access_token import grants as twilio_grants

from backchannel.tokens import AccessToken, IdentityWarning, MintError, TokenError
from backchannel.tokens import grants as our_grants

from .conftest import (
    ACCOUNT_SID,
    CREDENTIAL_SID,
    KEY_SID,
    ROLE_SID,
    SECRET,
    SERVICE_SID,
    decode_parts,
)

TwilioAccessToken = twilio_access_token.AccessToken

APPLICATION_SID = "AP0123456789abcdef0123456789abcdef"
WORKSPACE_SID = "WS0123456789abcdef0123456789abcdef"
WORKER_SID = "WK0123456789abcdef0123456789abcdef"
RESERVED_CHARACTERS = "!*'();:@&=+$,/?%#[]"
GRANT_CLASSES = [
    "ChatGrant",
    "SyncGrant",
    "VideoGrant",
    "VoiceGrant",
    "TaskRouterGrant",
    "PlaybackGrant",
]


def _params(function: Callable[..., Any], generate: object) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter; the GENERATE sentinel spelled as such."""
    return [
        (p.name, p.kind, "GENERATE" if p.default is generate else p.default)
        for p in inspect.signature(function).parameters.values()
    ]


def _in_one_second(*mints: Callable[[], str]) -> tuple[int, list[str]]:
    """Run ``mints`` within one wall-clock second, so "now" is the same for all of them."""
    for _ in range(20):
        start = int(time.time())
        tokens = [mint() for mint in mints]
        if int(time.time()) == start:
            return start, tokens
    raise AssertionError("could not mint within one second")


def _chat_token(**overrides: Any) -> AccessToken:
    kwargs: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "signing_key_sid": KEY_SID,
        "secret": SECRET,
        "grants": [our_grants.ChatGrant(service_sid=SERVICE_SID)],
        "identity": "alice",
    }
    kwargs.update(overrides)
    return AccessToken(**kwargs)


# --- the same API as twilio-python -----------------------------------------------------------


def test_access_token_constructor_has_twilio_pythons_signature() -> None:
    ours = _params(AccessToken.__init__, AccessToken.GENERATE)
    theirs = _params(TwilioAccessToken.__init__, TwilioAccessToken.GENERATE)
    assert ours == theirs


@pytest.mark.parametrize("method", ["to_jwt", "add_grant"])
def test_access_token_methods_have_twilio_pythons_signatures(method: str) -> None:
    ours = _params(getattr(AccessToken, method), AccessToken.GENERATE)
    theirs = _params(getattr(TwilioAccessToken, method), TwilioAccessToken.GENERATE)
    assert ours == theirs


@pytest.mark.parametrize("name", GRANT_CLASSES)
def test_grant_constructor_has_twilio_pythons_signature(name: str) -> None:
    ours = getattr(our_grants, name)
    theirs = getattr(twilio_grants, name)
    assert _params(ours.__init__, None) == _params(theirs.__init__, None)


GRANT_CASES = [
    pytest.param("ChatGrant", {}, id="chat-empty"),
    pytest.param("ChatGrant", {"service_sid": SERVICE_SID}, id="chat-service"),
    pytest.param(
        "ChatGrant",
        {
            "service_sid": SERVICE_SID,
            "endpoint_id": "app:alice:phone",
            "deployment_role_sid": ROLE_SID,
            "push_credential_sid": CREDENTIAL_SID,
        },
        id="chat-every-field",
    ),
    pytest.param("ChatGrant", {"service_sid": SERVICE_SID, "endpoint_id": ""}, id="chat-empty-str"),
    pytest.param("SyncGrant", {}, id="sync-empty"),
    pytest.param("SyncGrant", {"service_sid": SERVICE_SID, "endpoint_id": "e1"}, id="sync-full"),
    pytest.param("SyncGrant", {"endpoint_id": "e1"}, id="sync-endpoint-only"),
    pytest.param("VideoGrant", {}, id="video-any-room"),
    pytest.param("VideoGrant", {"room": "DailyStandup"}, id="video-room"),
    pytest.param("VoiceGrant", {}, id="voice-empty"),
    pytest.param("VoiceGrant", {"incoming_allow": True}, id="voice-incoming"),
    pytest.param("VoiceGrant", {"incoming_allow": False}, id="voice-incoming-false"),
    pytest.param(
        "VoiceGrant",
        {"outgoing_application_sid": APPLICATION_SID},
        id="voice-outgoing",
    ),
    pytest.param(
        "VoiceGrant",
        {
            "outgoing_application_sid": APPLICATION_SID,
            "outgoing_application_params": {"To": "+15555550100", "mode": "test"},
        },
        id="voice-outgoing-params",
    ),
    pytest.param(
        "VoiceGrant",
        {"outgoing_application_params": {"To": "+15555550100"}},
        id="voice-params-without-application",
    ),
    pytest.param(
        "VoiceGrant",
        {
            "incoming_allow": True,
            "outgoing_application_sid": APPLICATION_SID,
            "outgoing_application_params": {"a": 1},
            "push_credential_sid": CREDENTIAL_SID,
            "endpoint_id": "voice-endpoint",
        },
        id="voice-every-field",
    ),
    pytest.param("TaskRouterGrant", {}, id="task-router-empty"),
    pytest.param(
        "TaskRouterGrant",
        {"workspace_sid": WORKSPACE_SID, "worker_sid": WORKER_SID, "role": "worker"},
        id="task-router-full",
    ),
    pytest.param("TaskRouterGrant", {"role": "supervisor"}, id="task-router-role"),
    pytest.param(
        "PlaybackGrant",
        {
            "grant": {
                "requestCredentials": None,
                "playbackUrl": "https://example.com/playback",
                "playerStreamerSid": "VJ0123456789abcdef0123456789abcdef",
            }
        },
        id="playback",
    ),
]


@pytest.mark.parametrize(("name", "kwargs"), GRANT_CASES)
def test_grant_key_and_payload_equal_twilio_pythons(name: str, kwargs: dict[str, Any]) -> None:
    ours = getattr(our_grants, name)(**kwargs)
    theirs = getattr(twilio_grants, name)(**kwargs)
    assert ours.key == theirs.key
    assert ours.to_payload() == theirs.to_payload()


@pytest.mark.parametrize(("name", "kwargs"), GRANT_CASES)
def test_grant_positional_arguments_mean_what_they_mean_in_twilio_python(
    name: str, kwargs: dict[str, Any]
) -> None:
    order = inspect.signature(getattr(twilio_grants, name)).parameters
    args = [kwargs.get(parameter) for parameter in order]
    ours = getattr(our_grants, name)(*args)
    theirs = getattr(twilio_grants, name)(*args)
    assert ours.to_payload() == theirs.to_payload()


# --- the same JWT as twilio-python ------------------------------------------------------------


def _grants(module: Any) -> list[Any]:
    return [
        module.ChatGrant(SERVICE_SID, "endpoint-1", ROLE_SID, CREDENTIAL_SID),
        module.SyncGrant(service_sid=SERVICE_SID),
        module.VideoGrant(room="standup"),
        module.VoiceGrant(
            incoming_allow=True,
            outgoing_application_sid=APPLICATION_SID,
            outgoing_application_params={"k": "v"},
        ),
        module.TaskRouterGrant(WORKSPACE_SID, WORKER_SID, "worker"),
        module.PlaybackGrant({"playbackUrl": "https://example.com/p"}),
    ]


SAME_AS_TWILIO_CASES: list[Any] = [
    pytest.param({"grants": "chat", "identity": "alice"}, {}, id="chat"),
    pytest.param({"grants": "chat", "identity": "alice", "region": "us1"}, {}, id="region"),
    pytest.param({"grants": "chat", "identity": "alice", "ttl": 60}, {}, id="ttl"),
    pytest.param({"grants": "chat", "identity": "alice", "ttl": 86400}, {}, id="ttl-24h"),
    pytest.param({"grants": "chat", "identity": "alice"}, {"ttl": 120}, id="to-jwt-ttl"),
    pytest.param({"grants": "chat", "identity": "alice", "nbf": None}, {}, id="no-nbf"),
    pytest.param({"grants": "chat", "identity": "zoë 日本"}, {}, id="non-ascii-identity"),
    pytest.param({"grants": "every", "identity": "alice"}, {}, id="every-grant"),
    pytest.param({"grants": "video", "identity": "alice"}, {}, id="video-only"),
    pytest.param({"grants": "none", "identity": "alice"}, {}, id="identity-only"),
    pytest.param({"grants": "added", "identity": "alice"}, {}, id="add-grant"),
]


def _build(cls: Any, module: Any, spec: dict[str, Any]) -> Any:
    kwargs = dict(spec)
    kind = kwargs.pop("grants")
    token = cls(ACCOUNT_SID, KEY_SID, SECRET, **kwargs)
    if kind == "chat":
        token.add_grant(module.ChatGrant(service_sid=SERVICE_SID))
    elif kind == "every":
        for grant in _grants(module):
            token.add_grant(grant)
    elif kind == "video":
        token.add_grant(module.VideoGrant(room="standup"))
    elif kind == "added":
        token = cls(ACCOUNT_SID, KEY_SID, SECRET, grants=[module.VideoGrant("standup")], **kwargs)
        token.add_grant(module.ChatGrant(SERVICE_SID))
    return token


@pytest.mark.parametrize(("spec", "to_jwt_kwargs"), SAME_AS_TWILIO_CASES)
def test_token_has_twilio_pythons_header_and_claims(
    spec: dict[str, Any], to_jwt_kwargs: dict[str, Any]
) -> None:
    ours = _build(AccessToken, our_grants, spec)
    theirs = _build(TwilioAccessToken, twilio_grants, spec)
    _, (our_jwt, their_jwt) = _in_one_second(
        lambda: ours.to_jwt(**to_jwt_kwargs), lambda: theirs.to_jwt(**to_jwt_kwargs)
    )
    # The header segment is byte for byte PyJWT's (sorted keys, compact JSON).
    assert our_jwt.split(".")[0] == their_jwt.split(".")[0]
    our_header, our_claims = decode_parts(our_jwt)
    their_header, their_claims = decode_parts(their_jwt)
    assert our_header == their_header
    our_jti, their_jti = our_claims.pop("jti"), their_claims.pop("jti")
    assert our_claims == their_claims
    assert our_jti.startswith(their_jti + "-")
    assert len(our_jti) > len(their_jti) + 1


def test_token_with_valid_until_has_twilio_pythons_claims() -> None:
    valid_until = int(time.time()) + 600
    ours = _chat_token(valid_until=valid_until)
    theirs = TwilioAccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[twilio_grants.ChatGrant(service_sid=SERVICE_SID)],
        identity="alice",
        valid_until=valid_until,
    )
    _, (our_jwt, their_jwt) = _in_one_second(ours.to_jwt, theirs.to_jwt)
    _, our_claims = decode_parts(our_jwt)
    _, their_claims = decode_parts(their_jwt)
    assert our_claims["exp"] == their_claims["exp"] == valid_until
    our_claims.pop("jti"), their_claims.pop("jti")
    assert our_claims == their_claims


def test_token_with_explicit_nbf_has_twilio_pythons_claims() -> None:
    nbf = int(time.time()) - 30
    ours = _chat_token(nbf=nbf)
    theirs = TwilioAccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[twilio_grants.ChatGrant(service_sid=SERVICE_SID)],
        identity="alice",
        nbf=nbf,
    )
    _, (our_jwt, their_jwt) = _in_one_second(ours.to_jwt, theirs.to_jwt)
    _, our_claims = decode_parts(our_jwt)
    _, their_claims = decode_parts(their_jwt)
    assert our_claims.pop("jti").startswith(f"{KEY_SID}-{nbf}-")
    their_claims.pop("jti")
    assert our_claims == their_claims


def test_to_jwt_ttl_overrides_valid_until_as_in_twilio_python() -> None:
    valid_until = int(time.time()) + 600
    ours = _chat_token(valid_until=valid_until)
    theirs = TwilioAccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[twilio_grants.ChatGrant(service_sid=SERVICE_SID)],
        identity="alice",
        valid_until=valid_until,
    )
    now, (our_jwt, their_jwt) = _in_one_second(
        lambda: ours.to_jwt(ttl=60), lambda: theirs.to_jwt(ttl=60)
    )
    assert decode_parts(their_jwt)[1]["exp"] == now + 60
    assert decode_parts(our_jwt)[1]["exp"] == now + 60


def test_access_token_accepts_twilio_pythons_grant_objects() -> None:
    token = _chat_token(grants=[twilio_grants.ChatGrant(service_sid=SERVICE_SID)])
    _, payload = decode_parts(token.to_jwt())
    assert payload["grants"] == {"identity": "alice", "chat": {"service_sid": SERVICE_SID}}


def test_header_is_hs256_jwt_twilio_fpa_without_region() -> None:
    header, _ = decode_parts(_chat_token().to_jwt())
    assert header == {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}


def test_header_carries_region_as_twr() -> None:
    header, _ = decode_parts(_chat_token(region="ie1").to_jwt())
    assert header == {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1", "twr": "ie1"}


def test_default_lifetime_is_one_hour_from_nbf() -> None:
    before = int(time.time())
    _, payload = decode_parts(_chat_token().to_jwt())
    after = int(time.time())
    assert before <= payload["nbf"] <= after
    assert payload["exp"] - payload["nbf"] == 3600
    assert payload["iss"] == KEY_SID
    assert payload["sub"] == ACCOUNT_SID
    assert "iat" not in payload


def test_ttl_sets_the_lifetime() -> None:
    _, payload = decode_parts(_chat_token(ttl=90).to_jwt())
    assert payload["exp"] - payload["nbf"] == 90


def test_to_jwt_ttl_overrides_the_constructors_ttl() -> None:
    _, payload = decode_parts(_chat_token(ttl=90).to_jwt(ttl=30))
    assert payload["exp"] - payload["nbf"] == 30


def test_nbf_none_leaves_nbf_out() -> None:
    _, payload = decode_parts(_chat_token(nbf=None).to_jwt())
    assert "nbf" not in payload
    assert payload["jti"].startswith(f"{KEY_SID}-")


def test_valid_until_sets_exp() -> None:
    nbf = int(time.time())
    _, payload = decode_parts(_chat_token(nbf=nbf, valid_until=nbf + 86400).to_jwt())
    assert payload["exp"] == nbf + 86400
    assert payload["nbf"] == nbf


def test_chat_grant_fields_appear_only_when_set() -> None:
    token = _chat_token(grants=[our_grants.ChatGrant(SERVICE_SID, endpoint_id="ep")])
    _, payload = decode_parts(token.to_jwt())
    assert payload["grants"]["chat"] == {"service_sid": SERVICE_SID, "endpoint_id": "ep"}


def test_secret_may_be_bytes() -> None:
    assert _chat_token(secret=SECRET.encode()).to_jwt().count(".") == 2


# --- jti ----------------------------------------------------------------------------------------


def test_jti_starts_with_key_sid_and_explicit_nbf() -> None:
    nbf = int(time.time()) - 5
    _, payload = decode_parts(_chat_token(nbf=nbf).to_jwt())
    prefix = f"{KEY_SID}-{nbf}"
    assert payload["jti"].startswith(prefix)
    assert not payload["jti"][len(prefix) :][:1].isdigit()


def test_jti_starts_with_key_sid_and_generated_nbf() -> None:
    _, payload = decode_parts(_chat_token().to_jwt())
    prefix = f"{KEY_SID}-{payload['nbf']}"
    assert payload["jti"].startswith(prefix)
    assert not payload["jti"][len(prefix) :][:1].isdigit()


def test_jti_is_unique_across_tokens_with_the_same_nbf() -> None:
    nbf = int(time.time())
    token = _chat_token(nbf=nbf)
    jtis = [decode_parts(token.to_jwt())[1]["jti"] for _ in range(2000)]
    assert len(set(jtis)) == len(jtis)
    assert all(jti.startswith(f"{KEY_SID}-{nbf}") for jti in jtis)


def test_jti_is_unique_across_tokens_minted_in_the_same_second() -> None:
    token = _chat_token()
    payloads = [decode_parts(token.to_jwt())[1] for _ in range(500)]
    by_second: dict[int, list[str]] = {}
    for payload in payloads:
        by_second.setdefault(payload["nbf"], []).append(payload["jti"])
    assert max(len(jtis) for jtis in by_second.values()) > 1  # some did share a second
    all_jtis = [payload["jti"] for payload in payloads]
    assert len(set(all_jtis)) == len(all_jtis)


# --- identities ---------------------------------------------------------------------------------


def test_identity_of_256_characters_mints() -> None:
    _, payload = decode_parts(_chat_token(identity="a" * 256).to_jwt())
    assert payload["grants"]["identity"] == "a" * 256


def test_ordinary_identity_mints_without_any_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _chat_token(identity="alice.smith-01_é").to_jwt()
    assert caught == []


def test_identity_warning_is_a_user_warning() -> None:
    assert issubclass(IdentityWarning, UserWarning)


def test_guides_example_identity_mints_with_a_warning() -> None:
    with pytest.warns(IdentityWarning, match="user@example.com"):
        jwt = _chat_token(identity="user@example.com").to_jwt()
    assert decode_parts(jwt)[1]["grants"]["identity"] == "user@example.com"


@pytest.mark.parametrize("character", list(RESERVED_CHARACTERS))
def test_identity_with_a_reserved_uri_character_mints_with_a_warning(character: str) -> None:
    identity = f"user{character}name"
    with pytest.warns(IdentityWarning):
        jwt = _chat_token(identity=identity).to_jwt()
    assert decode_parts(jwt)[1]["grants"]["identity"] == identity


# --- refusals -----------------------------------------------------------------------------------


def _refuses(token: AccessToken, match: str, **to_jwt_kwargs: Any) -> MintError:
    with pytest.raises(MintError, match=match) as raised:
        token.to_jwt(**to_jwt_kwargs)
    error = raised.value
    assert isinstance(error, TokenError)
    assert isinstance(error, ValueError)
    return error


def test_mint_error_is_a_token_error_and_a_value_error() -> None:
    assert issubclass(MintError, TokenError)
    assert issubclass(MintError, ValueError)


@pytest.mark.parametrize("ttl", [0, -1, -3600], ids=["zero", "minus-one", "minus-hour"])
def test_mint_refuses_a_ttl_that_is_not_positive(ttl: int) -> None:
    _refuses(_chat_token(ttl=ttl), match="ttl")


@pytest.mark.parametrize("ttl", [86401, 7 * 86400], ids=["24h-and-a-second", "a-week"])
def test_mint_refuses_a_ttl_over_24_hours(ttl: int) -> None:
    _refuses(_chat_token(ttl=ttl), match="86400")


def test_mint_accepts_a_ttl_of_exactly_24_hours() -> None:
    _, payload = decode_parts(_chat_token(ttl=86400).to_jwt())
    assert payload["exp"] - payload["nbf"] == 86400


@pytest.mark.parametrize("ttl", [0, -10, 86401], ids=["zero", "negative", "over-24h"])
def test_mint_refuses_a_bad_ttl_passed_to_to_jwt(ttl: int) -> None:
    _refuses(_chat_token(), match="ttl", ttl=ttl)


def test_mint_refuses_valid_until_more_than_24h_after_nbf() -> None:
    nbf = int(time.time())
    _refuses(_chat_token(nbf=nbf, valid_until=nbf + 86401), match="valid_until")


def test_mint_refuses_valid_until_more_than_24h_from_now_without_nbf() -> None:
    valid_until = int(time.time()) + 90000
    _refuses(_chat_token(nbf=None, valid_until=valid_until), match="valid_until")


def test_mint_refuses_a_lifetime_over_24h_counted_from_an_explicit_nbf() -> None:
    # exp is now + ttl (as in twilio-python), so an nbf a day ago makes a 25 h token, which
    # any verifier enforcing the 24 h maximum refuses; minting must refuse it up front.
    nbf = int(time.time()) - 86400
    _refuses(_chat_token(nbf=nbf, ttl=3600), match="24")


@pytest.mark.parametrize("secret", ["", b"", None], ids=["empty-str", "empty-bytes", "none"])
def test_mint_refuses_an_empty_secret(secret: Any) -> None:
    _refuses(_chat_token(secret=secret), match="secret")


BAD_ACCOUNT_SIDS = [
    pytest.param("", id="empty"),
    pytest.param(None, id="none"),
    pytest.param("AC" + "0" * 31, id="31-hex-digits"),
    pytest.param("AC" + "0" * 33, id="33-hex-digits"),
    pytest.param("AC" + "g" * 32, id="not-hex"),
    pytest.param("ac" + "0" * 32, id="lower-case-prefix"),
    pytest.param(KEY_SID, id="api-key-sid"),
    pytest.param(" " + ACCOUNT_SID, id="leading-space"),
    pytest.param(ACCOUNT_SID + "\n", id="trailing-newline"),
]


@pytest.mark.parametrize("account_sid", BAD_ACCOUNT_SIDS)
def test_mint_refuses_an_account_sid_that_is_not_an_ac_sid(account_sid: Any) -> None:
    _refuses(_chat_token(account_sid=account_sid), match="account_sid")


BAD_KEY_SIDS = [
    pytest.param("", id="empty"),
    pytest.param("SK" + "0" * 31, id="31-hex-digits"),
    pytest.param("sk" + "0" * 32, id="lower-case-prefix"),
    pytest.param(ACCOUNT_SID, id="account-sid"),
    pytest.param("SK" + "0" * 30 + "zz", id="not-hex"),
]


@pytest.mark.parametrize("key_sid", BAD_KEY_SIDS)
def test_mint_refuses_a_signing_key_sid_that_is_not_an_sk_sid(key_sid: Any) -> None:
    _refuses(_chat_token(signing_key_sid=key_sid), match="signing_key_sid")


@pytest.mark.parametrize(
    "service_sid",
    [
        pytest.param("IS" + "0" * 31, id="31-hex-digits"),
        pytest.param("CH" + "0" * 32, id="channel-sid"),
        pytest.param("is" + "0" * 32, id="lower-case-prefix"),
        pytest.param("IS" + "x" * 32, id="not-hex"),
    ],
)
def test_mint_refuses_a_chat_grant_whose_service_sid_is_not_an_is_sid(service_sid: str) -> None:
    token = _chat_token(grants=[our_grants.ChatGrant(service_sid=service_sid)])
    _refuses(token, match="service_sid")


def test_mint_refuses_a_chat_grant_without_a_service_sid() -> None:
    _refuses(_chat_token(grants=[our_grants.ChatGrant(endpoint_id="e")]), match="service_sid")


def test_mint_refuses_a_chat_grant_with_a_malformed_role_sid() -> None:
    grant = our_grants.ChatGrant(SERVICE_SID, deployment_role_sid="RL123")
    _refuses(_chat_token(grants=[grant]), match="deployment_role_sid")


def test_mint_refuses_a_chat_grant_with_a_malformed_push_credential_sid() -> None:
    grant = our_grants.ChatGrant(SERVICE_SID, push_credential_sid=SERVICE_SID)
    _refuses(_chat_token(grants=[grant]), match="push_credential_sid")


@pytest.mark.parametrize("identity", [None, ""], ids=["none", "empty"])
def test_mint_refuses_a_chat_grant_without_an_identity(identity: Any) -> None:
    _refuses(_chat_token(identity=identity), match="identity")


def test_mint_refuses_an_identity_over_256_characters() -> None:
    _refuses(_chat_token(identity="a" * 257), match="256")


@pytest.mark.parametrize(
    "identity",
    [
        pytest.param("ali\x00ce", id="nul"),
        pytest.param("alice\n", id="newline"),
        pytest.param("ali\tce", id="tab"),
        pytest.param("ali\rce", id="carriage-return"),
        pytest.param("alice\x1b[31m", id="escape"),
        pytest.param("alice\x7f", id="delete"),
        pytest.param("alice\x85", id="c1-next-line"),
        pytest.param("alice\x9b", id="c1-csi"),
    ],
)
def test_mint_refuses_an_identity_with_control_characters(identity: str) -> None:
    _refuses(_chat_token(identity=identity), match="control")


def test_mint_refuses_an_identity_with_a_lone_surrogate() -> None:
    _refuses(_chat_token(identity="alice\ud800"), match="identity")


def test_mint_refuses_a_non_string_identity() -> None:
    _refuses(_chat_token(identity=42), match="identity")


def test_mint_checks_identity_without_a_chat_grant_too() -> None:
    token = _chat_token(grants=[our_grants.VideoGrant("room")], identity="a\nb")
    _refuses(token, match="control")


def test_add_grant_refuses_something_that_is_not_a_grant() -> None:
    token = _chat_token()
    with pytest.raises(ValueError, match="grant"):
        token.add_grant("chat")  # type: ignore[arg-type]


def test_constructor_refuses_grants_that_are_not_grants() -> None:
    with pytest.raises(ValueError, match="grant"):
        _chat_token(grants=[{"chat": {}}])


def test_mint_error_message_names_the_bad_ttl() -> None:
    error = _refuses(_chat_token(ttl=100000), match="ttl")
    assert "100000" in str(error)


def test_mint_refuses_valid_until_not_after_nbf() -> None:
    nbf = int(time.time())
    _refuses(_chat_token(nbf=nbf, valid_until=nbf), match="never be valid")


def test_mint_refuses_an_nbf_after_the_expiry() -> None:
    nbf = int(time.time()) + 7200
    _refuses(_chat_token(nbf=nbf, ttl=3600), match="never be valid")


@pytest.mark.parametrize("nbf", ["1700000000", 1.7e9, True], ids=["string", "float", "bool"])
def test_mint_refuses_an_nbf_that_is_not_whole_seconds(nbf: Any) -> None:
    _refuses(_chat_token(nbf=nbf), match="nbf")


@pytest.mark.parametrize("valid_until", ["1700000000", 1.7e9], ids=["string", "float"])
def test_mint_refuses_a_valid_until_that_is_not_whole_seconds(valid_until: Any) -> None:
    _refuses(_chat_token(valid_until=valid_until), match="valid_until")
