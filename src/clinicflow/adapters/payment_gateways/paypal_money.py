"""Integer minor units ↔ PayPal's decimal-string amounts, exactly (no floats anywhere).

PayPal takes amounts as strings ("100.00"). HUF, JPY and TWD take no decimals at all
(PayPal: "decimal amounts cause an error"), so for them one minor unit is one whole unit.
Every other PayPal currency has two decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal

ZERO_DECIMAL = frozenset({"HUF", "JPY", "TWD"})
_VALUE = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def decimals(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def to_paypal_value(minor: int, currency: str) -> str:
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise ValueError("an amount is a non-negative integer number of minor units")
    places = decimals(currency)
    if places == 0:
        return str(minor)
    whole, fraction = divmod(minor, 10**places)
    return f"{whole}.{fraction:0{places}d}"


def from_paypal_value(value: str, currency: str) -> int:
    """Refuses what would need rounding: a value with more decimals than the currency has."""
    if not _VALUE.match(value):
        raise ValueError(f"not a PayPal amount: {value!r}")
    scaled = Decimal(value).scaleb(decimals(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value!r} has more decimals than {currency.upper()} allows")
    return int(scaled)
