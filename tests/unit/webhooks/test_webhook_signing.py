"""The webhook signature scheme, as a receiver checks it (docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicflow.webhooks.domain.signing import SignatureError, parse, sign, signature, verify

SECRET = "whsec_test-secret-0123456789abcdefghijklmnopqrstu"
BODY = b'{"id":"e-1","type":"booking.created","data":{"booking_id":"b-1"}}'
T = 1_795_100_000


def test_the_header_is_a_timestamp_and_an_hmac_sha256_over_timestamp_dot_body() -> None:
    header = sign(SECRET, T, BODY)

    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"


def test_a_signed_body_verifies_and_returns_its_timestamp() -> None:
    assert verify(SECRET, sign(SECRET, T, BODY), BODY, now=T + 10) == T


def test_now_may_be_an_aware_datetime() -> None:
    now = datetime.fromtimestamp(T + 5, UTC)
    assert verify(SECRET, sign(SECRET, T, BODY), BODY, now=now) == T


def test_an_altered_body_is_refused() -> None:
    header = sign(SECRET, T, BODY)
    with pytest.raises(SignatureError, match="altered"):
        verify(SECRET, header, BODY.replace(b"b-1", b"b-2"), now=T)


def test_another_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="wrong secret"):
        verify("whsec_other", sign(SECRET, T, BODY), BODY, now=T)


def test_a_changed_timestamp_breaks_the_signature() -> None:
    forged = sign(SECRET, T, BODY).replace(f"t={T}", f"t={T + 1}")
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(SECRET, forged, BODY, now=T)


def test_a_replay_older_than_the_tolerance_is_refused() -> None:
    header = sign(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 300) == T
    with pytest.raises(SignatureError, match="301 s old, beyond the tolerance of 300 s"):
        verify(SECRET, header, BODY, now=T + 301)


def test_a_timestamp_from_the_future_beyond_the_tolerance_is_refused() -> None:
    with pytest.raises(SignatureError, match="in the future"):
        verify(SECRET, sign(SECRET, T, BODY), BODY, now=T - 60, tolerance=30)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Clinicflow-Signature"),
        ("", "missing Clinicflow-Signature"),
        ("garbage", "malformed"),
        (f"t=soon,v1={'0' * 64}", "whole unix seconds"),
        (f"v1={'0' * 64}", "no t= timestamp"),
        (f"t={T}", "no v1= signature"),
        (f"t={T},v0={'0' * 64}", "no v1= signature"),
    ],
)
def test_a_missing_or_malformed_header_says_what_is_wrong(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, header, BODY, now=T)


def test_during_rotation_each_secret_signs_and_either_verifies() -> None:
    header = sign(["whsec_new", "whsec_old"], T, BODY)

    timestamp, found = parse(header)
    assert timestamp == T
    assert found == [signature("whsec_new", T, BODY), signature("whsec_old", T, BODY)]
    assert verify("whsec_new", header, BODY, now=T) == T
    assert verify("whsec_old", header, BODY, now=T) == T
    with pytest.raises(SignatureError):
        verify("whsec_neither", header, BODY, now=T)


def test_unknown_schemes_are_ignored_for_forward_compatibility() -> None:
    header = f"t={T},v2=future-scheme,v1={signature(SECRET, T, BODY)}"
    assert verify(SECRET, header, BODY, now=T) == T


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        sign([], T, BODY)


@given(
    secret=st.text(min_size=1, max_size=80),
    body=st.binary(max_size=2000),
    timestamp=st.integers(min_value=0, max_value=2**40),
)
def test_every_signed_body_verifies_and_any_changed_byte_does_not(
    secret: str, body: bytes, timestamp: int
) -> None:
    header = sign(secret, timestamp, body)
    assert verify(secret, header, body, now=timestamp) == timestamp
    with pytest.raises(SignatureError):
        verify(secret, header, body + b" ", now=timestamp)


DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def documented_verify() -> Callable[[str, str | None, bytes], None]:
    """The receiver's snippet from docs/webhooks.md, run as written."""
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert snippet is not None
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)
    found: Callable[[str, str | None, bytes], None] = namespace["verify"]
    return found


def test_the_receivers_snippet_in_the_docs_accepts_our_signatures_and_refuses_others() -> None:
    check = documented_verify()
    now = int(time.time())
    check(SECRET, sign(SECRET, now, BODY), BODY)
    check(SECRET, sign(["whsec_next", SECRET], now, BODY), BODY)
    for header, body in [
        (sign("whsec_other", now, BODY), BODY),
        (sign(SECRET, now, BODY), BODY + b"\n"),
        (sign(SECRET, now - 301, BODY), BODY),
        (None, BODY),
    ]:
        with pytest.raises(ValueError):  # noqa: PT011 (the snippet raises plain ValueError)
            check(SECRET, header, body)


def test_the_documented_test_vector_holds() -> None:
    body = b'{"id":"e-1","type":"booking.created"}'
    expected = "e4a1213d340564431e1ff2ae46471cdce68e281b0b29c92c6f50718fa87d13d8"
    assert sign("whsec_test_vector_do_not_use", 1795532400, body) == f"t=1795532400,v1={expected}"
    assert f"v1={expected}" in DOC.read_text()
