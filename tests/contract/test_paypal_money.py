"""Minor units ↔ PayPal decimal strings: exact both ways, and nothing that needs rounding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicflow.adapters.payment_gateways.paypal_money import from_paypal_value, to_paypal_value

TWO_DECIMALS = st.sampled_from(["USD", "EUR", "AUD", "GBP", "usd"])
NO_DECIMALS = st.sampled_from(["JPY", "HUF", "TWD"])


@given(minor=st.integers(min_value=0, max_value=10**15), currency=TWO_DECIMALS)
def test_two_decimal_currencies_round_trip(minor: int, currency: str) -> None:
    value = to_paypal_value(minor, currency)

    assert from_paypal_value(value, currency) == minor
    whole, fraction = value.split(".")
    assert len(fraction) == 2
    assert int(whole) * 100 + int(fraction) == minor


@given(minor=st.integers(min_value=0, max_value=10**15), currency=NO_DECIMALS)
def test_zero_decimal_currencies_round_trip_without_a_point(minor: int, currency: str) -> None:
    value = to_paypal_value(minor, currency)

    assert value == str(minor)
    assert from_paypal_value(value, currency) == minor


@pytest.mark.parametrize(
    ("minor", "value"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (100, "1.00"), (12_345, "123.45"),
     (100_000_000_001, "1000000000.01")],
)  # fmt: skip
def test_known_usd_values(minor: int, value: str) -> None:
    assert to_paypal_value(minor, "USD") == value


@pytest.mark.parametrize(("value", "minor"), [("1.5", 150), ("7", 700), ("0.10", 10)])
def test_paypal_may_answer_fewer_decimals(value: str, minor: int) -> None:
    assert from_paypal_value(value, "USD") == minor


@pytest.mark.parametrize(
    ("value", "currency"),
    [("1.005", "USD"), ("10.5", "JPY"), ("-1.00", "USD"), ("1e3", "USD"), (" 1.00", "USD"),
     ("1,00", "EUR"), ("", "USD"), (".5", "USD"), ("NaN", "USD")],
)  # fmt: skip
def test_values_that_would_need_rounding_or_are_not_amounts_are_refused(
    value: str, currency: str
) -> None:
    with pytest.raises(ValueError, match=r"PayPal amount|decimals"):
        from_paypal_value(value, currency)


@pytest.mark.parametrize("minor", [-1, True])
def test_negative_or_boolean_minor_units_are_refused(minor: int) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        to_paypal_value(minor, "USD")
