"""Verification: every rule, with the exception class and Twilio code it raises."""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
from typing import Any

import pytest
from twilio.jwt.access_token import AccessToken as TwilioAccessToken
from twilio.jwt.access_token import grants as twilio_grants

from backchannel.tokens import (
    AccessToken,
    InvalidGrantsError,
    InvalidHeaderError,
    InvalidIssuerError,
    InvalidSignatureError,
    LifetimeTooLongError,
    MalformedTokenError,
    SigningKey,
    TokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenVerifier,
    VerifiedToken,
)
from backchannel.tokens.grants import ChatGrant, VideoGrant

from .conftest import (
    ACCOUNT_SID,
    DROP,
    KEY_SID,
    NOW,
    OTHER_ACCOUNT_SID,
    OTHER_KEY_SID,
    OTHER_SECRET,
    SECRET,
    SERVICE_SID,
    TWILIO_HEADER,
    FrozenClock,
    b64url,
    claims,
    mint_raw,
)

EXPECTED_CODES = [
    (TokenError, 20101),
    (MalformedTokenError, 20101),
    (InvalidHeaderError, 20102),
    (InvalidIssuerError, 20103),
    (TokenExpiredError, 20104),
    (TokenNotYetValidError, 20105),
    (InvalidGrantsError, 20106),
    (InvalidSignatureError, 20107),
    (LifetimeTooLongError, 20157),
]


def _rejects(
    verifier: TokenVerifier, token: str | bytes, error: type[TokenError], code: int
) -> TokenError:
    with pytest.raises(error) as raised:
        verifier.verify(token)
    assert type(raised.value) is error
    assert raised.value.code == code
    assert str(raised.value)  # says what went wrong
    return raised.value


def _node_token(
    identity: str = "alice", *, iat: int = NOW, ttl: int = 3600, region: str | None = None
) -> str:
    """A token shaped like twilio-node's: jsonwebtoken's header order and claims, iat not nbf."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}
    if region:
        header["twr"] = region
    payload = {
        "jti": f"{KEY_SID}-{iat}",
        "grants": {"identity": identity, "chat": {"service_sid": SERVICE_SID}},
        "iat": iat,
        "exp": iat + ttl,
        "iss": KEY_SID,
        "sub": ACCOUNT_SID,
    }
    # JSON.stringify writes non-ASCII characters as they are, in UTF-8.
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return mint_raw(header, raw)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "code"), EXPECTED_CODES, ids=lambda v: str(v))
def test_each_token_error_carries_twilios_code(error: type[TokenError], code: int) -> None:
    assert error.code == code
    assert error("message").code == code
    assert error.status == 401


def test_verify_has_no_argument_that_could_skip_the_signature() -> None:
    assert list(inspect.signature(TokenVerifier.verify).parameters) == ["self", "token"]


# --- what a valid token yields ------------------------------------------------------------------


def test_verify_returns_every_field_of_a_twilio_python_shaped_token(
    verifier: TokenVerifier,
) -> None:
    token = mint_raw(TWILIO_HEADER | {"twr": "us1"}, claims())
    verified = verifier.verify(token)
    assert isinstance(verified, VerifiedToken)
    assert verified.identity == "alice"
    assert verified.account_sid == ACCOUNT_SID
    assert verified.key_sid == KEY_SID
    assert verified.service_sid == SERVICE_SID
    assert dict(verified.grants) == {"identity": "alice", "chat": {"service_sid": SERVICE_SID}}
    assert verified.expires_at == NOW + 3600
    assert verified.not_before == NOW
    assert verified.issued_at is None
    assert verified.jti == f"{KEY_SID}-{NOW}"
    assert verified.region == "us1"


def test_verify_accepts_bytes(verifier: TokenVerifier) -> None:
    assert verifier.verify(mint_raw(TWILIO_HEADER, claims()).encode()).identity == "alice"


def test_verified_token_without_chat_grant_has_no_service_sid(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(grants={"identity": "bob", "video": {"room": "r"}}))
    verified = verifier.verify(token)
    assert verified.service_sid is None
    assert verified.grants["video"] == {"room": "r"}
    assert verified.region is None


def test_verified_token_without_jti_has_none(verifier: TokenVerifier) -> None:
    assert verifier.verify(mint_raw(TWILIO_HEADER, claims(jti=DROP))).jti is None


def test_verified_token_is_frozen(verifier: TokenVerifier) -> None:
    verified = verifier.verify(mint_raw(TWILIO_HEADER, claims()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        verified.identity = "mallory"  # type: ignore[misc]
    with pytest.raises(TypeError):
        verified.grants["identity"] = "mallory"  # type: ignore[index]


def test_verify_accepts_a_token_minted_with_access_token(live_verifier: TokenVerifier) -> None:
    token = AccessToken(
        ACCOUNT_SID, KEY_SID, SECRET, grants=[ChatGrant(SERVICE_SID)], identity="alice"
    )
    verified = live_verifier.verify(token.to_jwt())
    assert (verified.identity, verified.service_sid) == ("alice", SERVICE_SID)


def test_verify_accepts_a_token_minted_by_twilio_python(live_verifier: TokenVerifier) -> None:
    token = TwilioAccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[twilio_grants.ChatGrant(service_sid=SERVICE_SID)],
        identity="alice",
        ttl=600,
    ).to_jwt()
    verified = live_verifier.verify(token)
    assert verified.identity == "alice"
    assert verified.service_sid == SERVICE_SID
    assert verified.not_before is not None
    assert verified.issued_at is None
    assert verified.expires_at - verified.not_before == 600


def test_verify_accepts_a_twilio_python_token_without_nbf(live_verifier: TokenVerifier) -> None:
    token = TwilioAccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[twilio_grants.ChatGrant(service_sid=SERVICE_SID)],
        identity="alice",
        nbf=None,
    ).to_jwt()
    verified = live_verifier.verify(token)
    assert verified.not_before is None
    assert verified.issued_at is None


def test_verify_accepts_a_twilio_node_shaped_token(verifier: TokenVerifier) -> None:
    verified = verifier.verify(_node_token())
    assert verified.identity == "alice"
    assert verified.service_sid == SERVICE_SID
    assert verified.issued_at == NOW
    assert verified.not_before is None
    assert verified.expires_at == NOW + 3600
    assert verified.jti == f"{KEY_SID}-{NOW}"


def test_verify_accepts_a_twilio_node_token_with_region_and_utf8_identity(
    verifier: TokenVerifier,
) -> None:
    verified = verifier.verify(_node_token("zoë-日本", region="ie1"))
    assert verified.identity == "zoë-日本"
    assert verified.region == "ie1"


def test_verify_accepts_a_node_token_with_a_24_hour_lifetime(verifier: TokenVerifier) -> None:
    assert verifier.verify(_node_token(ttl=86400)).expires_at == NOW + 86400


def test_verify_rejects_a_node_token_living_longer_than_24_hours(
    verifier: TokenVerifier,
) -> None:
    _rejects(verifier, _node_token(ttl=86401), LifetimeTooLongError, 20157)


def test_verify_accepts_an_identity_with_reserved_uri_characters_silently(
    verifier: TokenVerifier,
) -> None:
    grants = {"identity": "user@example.com", "chat": {"service_sid": SERVICE_SID}}
    assert verifier.verify(mint_raw(TWILIO_HEADER, claims(grants=grants))).identity == (
        "user@example.com"
    )


def test_verify_accepts_header_keys_in_any_order(verifier: TokenVerifier) -> None:
    header = {"typ": "JWT", "cty": "twilio-fpa;v=1", "alg": "HS256"}
    assert verifier.verify(mint_raw(header, claims())).identity == "alice"


# --- keys ---------------------------------------------------------------------------------------


def test_keys_may_be_a_callable(clock: FrozenClock) -> None:
    asked: list[object] = []

    def lookup(sid: str) -> SigningKey | None:
        asked.append(sid)
        return SigningKey(SECRET, ACCOUNT_SID) if sid == KEY_SID else None

    verifier = TokenVerifier(lookup, clock=clock)
    assert verifier.verify(mint_raw(TWILIO_HEADER, claims())).key_sid == KEY_SID
    assert asked == [KEY_SID]


def test_verify_rejects_a_revoked_key_when_the_callable_returns_none(clock: FrozenClock) -> None:
    verifier = TokenVerifier(lambda sid: None, clock=clock)
    _rejects(verifier, mint_raw(TWILIO_HEADER, claims()), InvalidIssuerError, 20103)


def test_key_lookup_is_never_asked_about_an_issuer_that_is_not_a_key_sid(
    clock: FrozenClock,
) -> None:
    asked: list[object] = []

    def lookup(sid: str) -> SigningKey | None:
        asked.append(sid)
        return SigningKey(SECRET, ACCOUNT_SID)

    verifier = TokenVerifier(lookup, clock=clock)
    for iss in [None, 42, ["SK"], ACCOUNT_SID, "", KEY_SID + " "]:
        _rejects(verifier, mint_raw(TWILIO_HEADER, claims(iss=iss)), InvalidIssuerError, 20103)
    assert asked == []


def test_keys_may_be_a_mapping_with_bytes_secrets(clock: FrozenClock) -> None:
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET.encode(), ACCOUNT_SID)}, clock=clock)
    assert verifier.verify(mint_raw(TWILIO_HEADER, claims())).identity == "alice"


def test_verify_looks_the_key_up_by_the_exact_issuer(verifier: TokenVerifier) -> None:
    upper = "SK" + KEY_SID[2:].upper()
    assert upper != KEY_SID
    _rejects(verifier, mint_raw(TWILIO_HEADER, claims(iss=upper)), InvalidIssuerError, 20103)


def test_verify_rejects_an_unknown_issuer(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(iss="SK" + "2" * 32))
    _rejects(verifier, token, InvalidIssuerError, 20103)


def test_verify_rejects_token_signed_by_another_accounts_key(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(iss=OTHER_KEY_SID), OTHER_SECRET)
    _rejects(verifier, token, InvalidIssuerError, 20103)


def test_verify_rejects_a_subject_that_is_missing(verifier: TokenVerifier) -> None:
    _rejects(verifier, mint_raw(TWILIO_HEADER, claims(sub=DROP)), InvalidIssuerError, 20103)


def test_verify_accepts_the_other_accounts_own_token(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(iss=OTHER_KEY_SID, sub=OTHER_ACCOUNT_SID), OTHER_SECRET)
    assert verifier.verify(token).account_sid == OTHER_ACCOUNT_SID


def test_verify_rejects_a_signature_made_with_another_secret(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(), OTHER_SECRET)
    _rejects(verifier, token, InvalidSignatureError, 20107)


def test_signing_key_repr_never_shows_the_secret() -> None:
    for secret in [SECRET, SECRET.encode()]:
        key = SigningKey(secret, ACCOUNT_SID)
        for text in [repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})]:
            assert SECRET not in text
            assert "secret-0123" not in text
        assert ACCOUNT_SID in repr(key)


def test_signing_key_is_frozen() -> None:
    key = SigningKey(SECRET, ACCOUNT_SID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.account_sid = OTHER_ACCOUNT_SID  # type: ignore[misc]


# --- the order of the checks --------------------------------------------------------------------


def test_signature_is_checked_before_expiry(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(exp=NOW - 3600, nbf=NOW - 7200), OTHER_SECRET)
    _rejects(verifier, token, InvalidSignatureError, 20107)


def test_signature_is_checked_before_the_subject(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(sub=OTHER_ACCOUNT_SID), OTHER_SECRET)
    _rejects(verifier, token, InvalidSignatureError, 20107)


def test_signature_is_checked_before_grants(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(grants=None), OTHER_SECRET)
    _rejects(verifier, token, InvalidSignatureError, 20107)


def test_signature_is_checked_before_claim_types(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(exp="never"), OTHER_SECRET)
    _rejects(verifier, token, InvalidSignatureError, 20107)


def test_header_is_checked_before_the_issuer(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER | {"alg": "HS512"}, claims(iss="SK" + "9" * 32))
    _rejects(verifier, token, InvalidHeaderError, 20102)


# --- shape, header ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, 42, ["a.b.c"]], ids=["none", "int", "list"])
def test_verify_rejects_a_token_that_is_not_a_string(verifier: TokenVerifier, token: Any) -> None:
    _rejects(verifier, token, MalformedTokenError, 20101)


def test_verify_rejects_an_empty_string(verifier: TokenVerifier) -> None:
    _rejects(verifier, "", MalformedTokenError, 20101)


def _sized_token(target: int) -> str:
    """The signed token closest to ``target`` characters from below or at, padded via a grant."""
    best = ""
    for room in range(5000, 6500):
        token = mint_raw(
            TWILIO_HEADER, claims(grants={"identity": "a", "video": {"room": "r" * room}})
        )
        if len(token) <= target:
            best = token
        else:
            break
    return best


def test_verify_accepts_a_token_of_8_kib(verifier: TokenVerifier) -> None:
    token = _sized_token(8192)
    assert 8188 <= len(token) <= 8192
    assert verifier.verify(token).identity == "a"


def test_verify_rejects_a_token_over_8_kib(verifier: TokenVerifier) -> None:
    smaller = _sized_token(8192)
    bigger = mint_raw(
        TWILIO_HEADER, claims(grants={"identity": "a", "video": {"room": "r" * 6200}})
    )
    assert len(smaller) <= 8192 < len(bigger)
    _rejects(verifier, bigger, MalformedTokenError, 20101)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(TWILIO_HEADER | {"alg": "none"}, id="alg-none"),
        pytest.param(TWILIO_HEADER | {"alg": "HS512"}, id="alg-hs512"),
        pytest.param(TWILIO_HEADER | {"alg": "hs256"}, id="alg-lower-case"),
        pytest.param({"typ": "JWT", "cty": "twilio-fpa;v=1"}, id="alg-missing"),
        pytest.param(TWILIO_HEADER | {"typ": "jwt"}, id="typ-lower-case"),
        pytest.param({"alg": "HS256", "cty": "twilio-fpa;v=1"}, id="typ-missing"),
        pytest.param({"alg": "HS256", "typ": "JWT"}, id="cty-missing"),
        pytest.param(TWILIO_HEADER | {"cty": "twilio-fpa;v=2"}, id="cty-v2"),
        pytest.param(TWILIO_HEADER | {"kid": KEY_SID}, id="kid"),
        pytest.param(TWILIO_HEADER | {"twr": 1}, id="twr-not-a-string"),
        pytest.param(TWILIO_HEADER | {"twr": "US1"}, id="twr-upper-case"),
        pytest.param(TWILIO_HEADER | {"twr": "../etc"}, id="twr-path"),
    ],
)
def test_verify_rejects_a_header_that_is_not_exactly_twilios(
    verifier: TokenVerifier, header: dict[str, Any]
) -> None:
    _rejects(verifier, mint_raw(header, claims()), InvalidHeaderError, 20102)


@pytest.mark.parametrize("region", ["us1", "ie1", "au1", "jp1", "de1", "sg1", "br1", "in1"])
def test_verify_accepts_twilios_regions(verifier: TokenVerifier, region: str) -> None:
    assert verifier.verify(mint_raw(TWILIO_HEADER | {"twr": region}, claims())).region == region


# --- claims -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", DROP),
        ("exp", None),
        ("exp", str(NOW + 3600)),
        ("exp", float(NOW + 3600)),
        ("exp", True),
        ("nbf", str(NOW)),
        ("nbf", float(NOW)),
        ("nbf", False),
        ("nbf", None),
        ("iat", str(NOW)),
        ("iat", NOW + 0.5),
        ("iat", True),
        ("jti", 1),
        ("jti", ["a"]),
    ],
    ids=lambda v: "missing" if v is DROP else repr(v),
)
def test_verify_rejects_a_claim_of_the_wrong_type(
    verifier: TokenVerifier, claim: str, value: Any
) -> None:
    _rejects(
        verifier, mint_raw(TWILIO_HEADER, claims(**{claim: value})), MalformedTokenError, 20101
    )


# --- times and leeway ---------------------------------------------------------------------------


def _timed(exp: int, **times: Any) -> str:
    return mint_raw(TWILIO_HEADER, claims(exp=exp, **times))


def test_verify_rejects_an_expired_token(verifier: TokenVerifier) -> None:
    _rejects(verifier, _timed(NOW - 3600, nbf=NOW - 7200), TokenExpiredError, 20104)


def test_expiry_leeway_accepts_until_exactly_leeway_seconds_after_exp(clock: FrozenClock) -> None:
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET, ACCOUNT_SID)}, clock=clock)
    token = _timed(NOW, nbf=NOW - 3600)
    clock.now = NOW + 59
    assert verifier.verify(token).expires_at == NOW
    clock.now = NOW + 59.999
    assert verifier.verify(token).expires_at == NOW
    clock.now = NOW + 60
    _rejects(verifier, token, TokenExpiredError, 20104)


def test_expiry_without_leeway_rejects_at_exp(clock: FrozenClock) -> None:
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET, ACCOUNT_SID)}, leeway=0, clock=clock)
    token = _timed(NOW, nbf=NOW - 3600)
    clock.now = NOW - 0.5
    assert verifier.verify(token).expires_at == NOW
    clock.now = NOW
    _rejects(verifier, token, TokenExpiredError, 20104)


def test_verify_rejects_a_token_that_expires_when_the_clock_moves_on(clock: FrozenClock) -> None:
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET, ACCOUNT_SID)}, clock=clock)
    token = mint_raw(TWILIO_HEADER, claims())
    assert verifier.verify(token).identity == "alice"
    clock.advance(3600 + 60)
    _rejects(verifier, token, TokenExpiredError, 20104)


def test_nbf_leeway_accepts_up_to_leeway_seconds_early(verifier: TokenVerifier) -> None:
    assert verifier.verify(_timed(NOW + 3600, nbf=NOW + 60)).not_before == NOW + 60
    _rejects(verifier, _timed(NOW + 3600, nbf=NOW + 61), TokenNotYetValidError, 20105)


def test_iat_leeway_accepts_up_to_leeway_seconds_early(verifier: TokenVerifier) -> None:
    token = _timed(NOW + 3600, nbf=DROP, iat=NOW + 60)
    assert verifier.verify(token).issued_at == NOW + 60
    _rejects(verifier, _timed(NOW + 3600, nbf=DROP, iat=NOW + 61), TokenNotYetValidError, 20105)


def test_iat_in_the_future_is_rejected_even_with_a_valid_nbf(verifier: TokenVerifier) -> None:
    _rejects(verifier, _timed(NOW + 3600, nbf=NOW, iat=NOW + 600), TokenNotYetValidError, 20105)


def test_custom_leeway_widens_the_window(clock: FrozenClock) -> None:
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET, ACCOUNT_SID)}, leeway=300, clock=clock)
    assert verifier.verify(_timed(NOW - 299, nbf=NOW - 3600)).expires_at == NOW - 299
    assert verifier.verify(_timed(NOW + 3600, nbf=NOW + 300)).not_before == NOW + 300
    _rejects(verifier, _timed(NOW - 300, nbf=NOW - 3600), TokenExpiredError, 20104)
    _rejects(verifier, _timed(NOW + 3600, nbf=NOW + 301), TokenNotYetValidError, 20105)


def test_not_yet_valid_token_becomes_valid_as_the_clock_moves(clock: FrozenClock) -> None:
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET, ACCOUNT_SID)}, clock=clock)
    token = _timed(NOW + 4000, nbf=NOW + 400)
    _rejects(verifier, token, TokenNotYetValidError, 20105)
    clock.advance(340)
    assert verifier.verify(token).not_before == NOW + 400


def test_lifetime_of_exactly_24_hours_from_nbf_is_accepted(verifier: TokenVerifier) -> None:
    assert verifier.verify(_timed(NOW + 86400, nbf=NOW)).expires_at == NOW + 86400


def test_lifetime_over_24_hours_from_nbf_is_rejected(verifier: TokenVerifier) -> None:
    _rejects(verifier, _timed(NOW + 86401, nbf=NOW), LifetimeTooLongError, 20157)


def test_lifetime_over_24_hours_from_iat_is_rejected(verifier: TokenVerifier) -> None:
    _rejects(verifier, _timed(NOW + 86401, nbf=DROP, iat=NOW), LifetimeTooLongError, 20157)


def test_lifetime_is_measured_from_nbf_when_both_nbf_and_iat_are_present(
    verifier: TokenVerifier,
) -> None:
    token = _timed(NOW + 86400, nbf=NOW, iat=NOW - 600)
    assert verifier.verify(token).issued_at == NOW - 600


def test_lifetime_over_24_hours_from_now_is_rejected_without_nbf_or_iat(
    verifier: TokenVerifier,
) -> None:
    assert verifier.verify(_timed(NOW + 86400, nbf=DROP)).not_before is None
    _rejects(verifier, _timed(NOW + 86401, nbf=DROP), LifetimeTooLongError, 20157)


def test_lifetime_counts_from_an_old_nbf_not_from_now(verifier: TokenVerifier) -> None:
    _rejects(verifier, _timed(NOW + 600, nbf=NOW - 86000), LifetimeTooLongError, 20157)


def test_max_ttl_can_be_lowered(clock: FrozenClock) -> None:
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET, ACCOUNT_SID)}, max_ttl=600, clock=clock)
    assert verifier.verify(_timed(NOW + 600, nbf=NOW)).expires_at == NOW + 600
    _rejects(verifier, _timed(NOW + 601, nbf=NOW), LifetimeTooLongError, 20157)


def test_verifier_uses_the_real_clock_by_default() -> None:
    now = int(time.time())
    verifier = TokenVerifier({KEY_SID: SigningKey(SECRET, ACCOUNT_SID)})
    assert verifier.verify(_timed(now + 600, nbf=now)).expires_at == now + 600
    _rejects(verifier, _timed(NOW + 3600, nbf=NOW), TokenExpiredError, 20104)


# --- grants -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grants",
    [
        pytest.param(DROP, id="missing"),
        pytest.param(None, id="null"),
        pytest.param([], id="array"),
        pytest.param("alice", id="string"),
        pytest.param({"chat": {"service_sid": SERVICE_SID}}, id="identity-missing"),
        pytest.param({"identity": ""}, id="identity-empty"),
        pytest.param({"identity": None}, id="identity-null"),
        pytest.param({"identity": 42}, id="identity-number"),
        pytest.param({"identity": ["alice"]}, id="identity-array"),
        pytest.param({"identity": "a" * 257}, id="identity-257-characters"),
        pytest.param({"identity": "ali\nce"}, id="identity-newline"),
        pytest.param({"identity": "alice\x00"}, id="identity-nul"),
        pytest.param({"identity": "alice\x85"}, id="identity-c1-control"),
        pytest.param({"identity": "alice\ud800"}, id="identity-lone-surrogate"),
        pytest.param({"identity": "alice", "chat": "IS"}, id="chat-not-an-object"),
        pytest.param({"identity": "alice", "chat": None}, id="chat-null"),
        pytest.param({"identity": "alice", "chat": {}}, id="chat-service-sid-missing"),
        pytest.param({"identity": "alice", "chat": {"service_sid": "IS123"}}, id="chat-short-sid"),
        pytest.param(
            {"identity": "alice", "chat": {"service_sid": "CH" + "0" * 32}}, id="chat-channel-sid"
        ),
        pytest.param({"identity": "alice", "chat": {"service_sid": 7}}, id="chat-sid-number"),
    ],
)
def test_verify_rejects_invalid_grants(verifier: TokenVerifier, grants: Any) -> None:
    _rejects(verifier, mint_raw(TWILIO_HEADER, claims(grants=grants)), InvalidGrantsError, 20106)


def test_verify_accepts_an_identity_of_256_characters(verifier: TokenVerifier) -> None:
    token = mint_raw(TWILIO_HEADER, claims(grants={"identity": "é" * 256}))
    assert verifier.verify(token).identity == "é" * 256


# --- round trip with AccessToken ----------------------------------------------------------------


@pytest.mark.parametrize("region", [None, "us1"])
def test_minted_token_round_trips(live_verifier: TokenVerifier, region: str | None) -> None:
    token = AccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[ChatGrant(SERVICE_SID, endpoint_id="ep"), VideoGrant("room")],
        identity="alice",
        ttl=120,
        region=region,
    ).to_jwt()
    verified = live_verifier.verify(token)
    assert verified.region == region
    assert verified.grants["chat"] == {"service_sid": SERVICE_SID, "endpoint_id": "ep"}
    assert verified.grants["video"] == {"room": "room"}
    assert verified.not_before is not None
    assert verified.expires_at - verified.not_before == 120
    assert verified.jti is not None
    assert verified.jti.startswith(f"{KEY_SID}-{verified.not_before}")


def test_verify_rejects_a_minted_token_signed_with_a_different_secret(
    live_verifier: TokenVerifier,
) -> None:
    token = AccessToken(
        ACCOUNT_SID, KEY_SID, OTHER_SECRET, grants=[ChatGrant(SERVICE_SID)], identity="alice"
    ).to_jwt()
    _rejects(live_verifier, token, InvalidSignatureError, 20107)


def test_b64url_helper_matches_the_codec_spelling() -> None:
    # Guard for the crafting helper that the hostile tests rely on.
    assert b64url(b"\xfb\xff") == "-_8"


def test_claimed_issuer_names_the_key_to_fetch_before_verifying() -> None:
    token = mint_raw(TWILIO_HEADER, claims(), secret="not the real secret at all, really")
    assert TokenVerifier.claimed_issuer(token) == KEY_SID


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param("not-a-token", 20101, id="malformed"),
        pytest.param(mint_raw(TWILIO_HEADER, claims(iss=DROP)), 20103, id="no-issuer"),
        pytest.param(mint_raw(TWILIO_HEADER, claims(iss=ACCOUNT_SID)), 20103, id="not-a-key-sid"),
        pytest.param(mint_raw(TWILIO_HEADER, claims(iss=[KEY_SID])), 20103, id="not-a-string"),
    ],
)
def test_claimed_issuer_raises_what_verify_would_raise(token: str, code: int) -> None:
    with pytest.raises(TokenError) as raised:
        TokenVerifier.claimed_issuer(token)
    assert raised.value.code == code
