"""Cent arithmetic. Amounts are whole cents (int); a percentage is a Decimal applied once and
rounded half-up to the cent, so 10% of 12.345 dollars' worth of cents never drifts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from clinicflow.catalog.domain import Rate

_HUNDRED = Decimal(100)


def percent_of(cents: int, percent: Decimal) -> int:
    """`percent`% of `cents`, rounded half-up to a whole cent (0.5 cent goes up)."""
    if cents < 0:
        raise ValueError(f"an amount to take a percentage of is 0 or more, not {cents}")
    exact = Decimal(cents) * percent / _HUNDRED
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_of(cents: int, rate: Rate) -> int:
    """The part of `cents` a rate takes: never more than `cents` itself."""
    if rate.percent is not None:
        return min(cents, percent_of(cents, rate.percent))
    return min(cents, rate.cents or 0)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` cents over `weights` in proportion, largest remainders first.

    The shares add up to `total` exactly and none exceeds its weight when `total` does not
    exceed the sum: this is how an order's discount is spread over its lines, so each line's
    net amount (what a refund of that visit starts from) adds up to the order's total.
    """
    whole = sum(weights)
    if total < 0 or any(w < 0 for w in weights) or total > whole:
        raise ValueError(f"cannot allocate {total} over {list(weights)}")
    if whole == 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares


def dollars(cents: int) -> str:
    """`12345` → `"$123.45"`, for reasons and receipts (US dollars only, as the catalog)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"
