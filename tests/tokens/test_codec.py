"""The codec's building blocks against the standard library's own."""

from __future__ import annotations

import base64
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backchannel.tokens import MalformedTokenError, SigningKey, codec


@settings(max_examples=300, deadline=None)
@given(secret=st.binary(min_size=1, max_size=200), message=st.binary(max_size=2000))
def test_signer_computes_the_same_hmac_sha256_as_the_standard_library(
    secret: bytes, message: bytes
) -> None:
    assert codec.Signer(secret).sign(message) == hmac.digest(secret, message, "sha256")


def test_signer_can_sign_many_messages_with_one_key_schedule() -> None:
    signer = codec.Signer(b"k" * 40)
    for message in (b"a", b"b", b"a"):
        assert signer.sign(message) == hmac.digest(b"k" * 40, message, "sha256")


def test_signer_refuses_a_signature_of_another_length() -> None:
    signer = codec.Signer(b"k" * 40)
    assert not signer.verify(b"msg", signer.sign(b"msg")[:-1])


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_b64_round_trips_and_matches_urlsafe_base64_without_padding(raw: bytes) -> None:
    encoded = codec.b64encode(raw)
    assert encoded == base64.urlsafe_b64encode(raw).rstrip(b"=")
    assert codec.b64decode(encoded) == raw


@pytest.mark.parametrize(
    "segment",
    [b"YQ==", b"YR", b"Y Q", b"Y\nQ", b"YQ+", b"a/b", b"Y"],
    ids=["padded", "unused-bits-set", "space", "newline", "plus", "slash", "one-char"],
)
def test_b64decode_refuses_non_canonical_spellings(segment: bytes) -> None:
    with pytest.raises(MalformedTokenError):
        codec.b64decode(segment)


def test_signing_key_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        SigningKey("", "AC" + "0" * 32)
