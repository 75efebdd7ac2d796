"""TOTP verification: a drift window of one step, codes usable once, time always injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicflow.identity.users.domain.totp import (
    code_at,
    new_secret,
    provisioning_uri,
    step_at,
    verify_code,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2026, 11, 24, 15, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)


def test_the_code_for_the_current_step_is_accepted_and_returns_that_step() -> None:
    assert verify_code(SECRET, code_at(SECRET, AT), AT, None) == int(AT.timestamp() // 30)


def test_codes_match_rfc_6238_as_other_authenticator_apps_compute_them() -> None:
    assert code_at(SECRET, AT) == pyotp.TOTP(SECRET).at(AT)


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_code_one_step_either_side_is_accepted(offset: int) -> None:
    code = code_at(SECRET, AT + offset * STEP)

    assert verify_code(SECRET, code, AT, None) == step_at(AT) + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_refused(offset: int) -> None:
    code = code_at(SECRET, AT + offset * STEP)

    assert verify_code(SECRET, code, AT, None) is None


def test_a_code_cannot_be_used_twice() -> None:
    used = verify_code(SECRET, code_at(SECRET, AT), AT, None)

    assert verify_code(SECRET, code_at(SECRET, AT), AT + timedelta(seconds=5), used) is None


def test_an_older_code_is_refused_once_a_newer_step_was_used() -> None:
    used = verify_code(SECRET, code_at(SECRET, AT), AT, None)

    assert verify_code(SECRET, code_at(SECRET, AT - STEP), AT, used) is None
    assert verify_code(SECRET, code_at(SECRET, AT + STEP), AT, used) == step_at(AT) + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "000000\n0"])
def test_a_malformed_code_is_refused(code: str) -> None:
    assert verify_code(SECRET, code, AT, None) is None


def test_surrounding_whitespace_is_tolerated() -> None:
    assert verify_code(SECRET, f" {code_at(SECRET, AT)}\n", AT, None) == step_at(AT)


def test_a_naive_datetime_is_rejected_rather_than_read_in_the_host_zone() -> None:
    with pytest.raises(ValueError, match="aware"):
        code_at(SECRET, datetime(2026, 11, 24, 15, 0))


def test_a_new_secret_is_base32_and_goes_into_the_provisioning_uri() -> None:
    secret = new_secret()
    uri = urlparse(provisioning_uri(secret, "ada@clinic.example", "Clinicflow"))

    assert len(secret) >= 32
    assert uri.scheme == "otpauth"
    assert parse_qs(uri.query)["secret"] == [secret]
    assert parse_qs(uri.query)["issuer"] == ["Clinicflow"]


@given(st.integers(min_value=60, max_value=4_000_000_000), st.integers(min_value=-1, max_value=1))
def test_any_code_within_one_step_is_accepted_at_any_time(seconds: int, offset: int) -> None:
    at = datetime.fromtimestamp(seconds, UTC)
    step = verify_code(SECRET, code_at(SECRET, at + offset * STEP), at, None)

    # A different step may share the same 6 digits; what matters is that it is accepted.
    assert step is not None
    assert abs(step - step_at(at)) <= 1
