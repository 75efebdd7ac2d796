"""Comparing the ledger with a gateway's own records, payment by payment.

For each provider payment id: what the ledger charged and refunded, against what the
gateway received and refunded. A payment the gateway holds money for and the ledger does
not know is missing here; a ledger payment the gateway does not list is missing there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

DifferenceKind = Literal["missing_here", "missing_there", "amount_mismatch", "refund_mismatch"]


@dataclass(frozen=True, slots=True)
class Booked:
    """The ledger's totals for one provider payment."""

    provider: str
    provider_id: str
    charged_cents: int
    refunded_cents: int  # a positive number


@dataclass(frozen=True, slots=True)
class Seen:
    """The gateway's view of one payment."""

    provider: str
    provider_id: str
    received_cents: int
    refunded_cents: int
    status: str


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    provider: str
    provider_id: str
    ledger_cents: int
    gateway_cents: int
    detail: str


def compare(booked: Iterable[Booked], seen: Iterable[Seen]) -> list[Difference]:
    ours: Mapping[tuple[str, str], Booked] = {(b.provider, b.provider_id): b for b in booked}
    theirs: Mapping[tuple[str, str], Seen] = {(s.provider, s.provider_id): s for s in seen}
    out: list[Difference] = []
    for key in sorted(ours.keys() | theirs.keys()):
        out.extend(_differences(ours.get(key), theirs.get(key)))
    return out


def _differences(b: Booked | None, s: Seen | None) -> list[Difference]:
    if b is None and s is not None:
        if s.received_cents == 0:
            return []  # never paid: nothing the ledger should hold
        return [
            Difference(
                "missing_here",
                s.provider,
                s.provider_id,
                0,
                s.received_cents,
                f"the gateway received {s.received_cents} cents the ledger does not record",
            )
        ]
    if b is None or s is None:
        assert b is not None
        return [
            Difference(
                "missing_there",
                b.provider,
                b.provider_id,
                b.charged_cents,
                0,
                "the ledger records a payment the gateway does not list",
            )
        ]
    out: list[Difference] = []
    if b.charged_cents != s.received_cents:
        out.append(
            Difference(
                "amount_mismatch",
                b.provider,
                b.provider_id,
                b.charged_cents,
                s.received_cents,
                f"charged {b.charged_cents} in the ledger, {s.received_cents} at the gateway",
            )
        )
    if b.refunded_cents != s.refunded_cents:
        out.append(
            Difference(
                "refund_mismatch",
                b.provider,
                b.provider_id,
                b.refunded_cents,
                s.refunded_cents,
                f"refunded {b.refunded_cents} in the ledger, {s.refunded_cents} at the gateway",
            )
        )
    return out
