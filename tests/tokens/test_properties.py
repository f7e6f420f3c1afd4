"""Properties: every valid input round-trips; every single-byte change is rejected."""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backchannel.tokens import (
    AccessToken,
    IdentityWarning,
    SigningKey,
    TokenError,
    TokenVerifier,
)
from backchannel.tokens.grants import ChatGrant

from .conftest import ACCOUNT_SID, KEY_SID, NOW, SECRET, SERVICE_SID, FrozenClock

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
RESERVED = re.compile(r"[!*'();:@&=+$,/?%#\[\]]")
REGIONS = ["us1", "ie1", "au1", "de1", "jp1", "sg1", "br1", "in1"]
KEYS = {KEY_SID: SigningKey(SECRET, ACCOUNT_SID)}

# Any text an identity may hold: 1..256 code points, no control characters, no surrogates.
identities = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=256
)
endpoint_ids = st.none() | st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=64
)
regions = st.none() | st.sampled_from(REGIONS)


def _mint(token: AccessToken, identity: str) -> str:
    """``token.to_jwt()``, checking it warns exactly when the identity has a reserved character."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jwt = token.to_jwt()
    expected = [IdentityWarning] if RESERVED.search(identity) else []
    assert [w.category for w in caught] == expected
    return jwt


@PROPERTY_SETTINGS
@given(identity=identities, ttl=st.integers(1, 86400), region=regions, endpoint_id=endpoint_ids)
def test_every_valid_input_round_trips_through_mint_and_verify(
    identity: str, ttl: int, region: str | None, endpoint_id: str | None
) -> None:
    token = AccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[ChatGrant(SERVICE_SID, endpoint_id=endpoint_id)],
        identity=identity,
        ttl=ttl,
        region=region,
    )
    verified = TokenVerifier(KEYS).verify(_mint(token, identity))
    assert verified.identity == identity
    assert verified.account_sid == ACCOUNT_SID
    assert verified.key_sid == KEY_SID
    assert verified.service_sid == SERVICE_SID
    assert verified.region == region
    chat = {"service_sid": SERVICE_SID} | ({"endpoint_id": endpoint_id} if endpoint_id else {})
    assert dict(verified.grants) == {"identity": identity, "chat": chat}
    assert verified.not_before is not None
    assert verified.expires_at - verified.not_before == ttl
    assert verified.issued_at is None
    assert verified.jti is not None
    assert verified.jti.startswith(f"{KEY_SID}-{verified.not_before}")


@PROPERTY_SETTINGS
@given(
    identity=identities,
    nbf=st.integers(NOW - 10**8, NOW + 10**8),
    lifetime=st.integers(1, 86400),
    region=regions,
    data=st.data(),
)
def test_token_verifies_at_every_instant_of_its_validity_window(
    identity: str, nbf: int, lifetime: int, region: str | None, data: st.DataObject
) -> None:
    token = AccessToken(
        ACCOUNT_SID,
        KEY_SID,
        SECRET,
        grants=[ChatGrant(SERVICE_SID)],
        identity=identity,
        nbf=nbf,
        valid_until=nbf + lifetime,
        region=region,
    )
    jwt = _mint(token, identity)
    # The default leeway is 60 s on either side.
    now = data.draw(st.integers(nbf - 60, nbf + lifetime + 59), label="now")
    verified = TokenVerifier(KEYS, clock=FrozenClock(now)).verify(jwt)
    assert (verified.identity, verified.region) == (identity, region)
    assert (verified.not_before, verified.expires_at) == (nbf, nbf + lifetime)


def _fixed_token(identity: str, region: str | None) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentityWarning)
        return AccessToken(
            ACCOUNT_SID,
            KEY_SID,
            SECRET,
            grants=[ChatGrant(SERVICE_SID, endpoint_id="web")],
            identity=identity,
            nbf=NOW,
            valid_until=NOW + 3600,
            region=region,
        ).to_jwt()


FIXED_TOKENS = [
    _fixed_token("alice", None),
    _fixed_token("zoë@example.com", "ie1"),
    _fixed_token("x" * 256, "us1"),
]
FIXED_VERIFIER = TokenVerifier(KEYS, clock=FrozenClock(NOW + 1))


def test_the_fixed_tokens_verify() -> None:
    for jwt in FIXED_TOKENS:
        assert FIXED_VERIFIER.verify(jwt).service_sid == SERVICE_SID


def _changed(jwt: str, position: int, byte: int) -> bytes:
    raw = bytearray(jwt.encode("ascii"))
    raw[position] = byte
    return bytes(raw)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_single_byte_change_is_rejected(data: st.DataObject) -> None:
    jwt = data.draw(st.sampled_from(FIXED_TOKENS), label="token")
    position = data.draw(st.integers(0, len(jwt) - 1), label="position")
    original = ord(jwt[position])
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != original), label="byte")
    changed = _changed(jwt, position, byte)
    as_text = data.draw(st.booleans(), label="as_text")
    with pytest.raises(TokenError):
        FIXED_VERIFIER.verify(changed.decode("latin-1") if as_text else changed)


def test_every_single_byte_change_to_a_token_is_rejected_exhaustively() -> None:
    jwt = FIXED_TOKENS[0]
    accepted: list[tuple[int, int]] = []
    for position in range(len(jwt)):
        original = ord(jwt[position])
        for byte in range(256):
            if byte == original:
                continue
            try:
                FIXED_VERIFIER.verify(_changed(jwt, position, byte))
            except TokenError:
                continue
            accepted.append((position, byte))
    assert accepted == []
