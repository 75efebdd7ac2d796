"""Package credits: visits bought in a bundle, held per patient until used, returned or expired.

A purchase grants one `Credit` per package item (e.g. GAPS initial ×1, GAPS follow-up ×4). A
credit covers one visit of its service and visit type while `at < expires_at`. Rules:

- `remaining` stays within 0..granted: consuming an empty credit and returning a full one are
  refused, so a credit never goes below zero nor above what was bought.
- An expired credit is unusable; expiry is `valid_days` × 24 h after the purchase instant.
- When several credits fit, the one expiring first is used first (then the lowest id), so the
  patient loses as little as possible to expiry.
- A returned visit goes back to the credit it came from with its original expiry: returning
  never extends a package, and nothing is returned to an expired credit.

All functions are pure: they take the patient's credits and return the new tuple.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.catalog.domain import PackageOffer
from clinicflow.payments.domain.errors import (
    CreditNotReturnable,
    CreditUnavailable,
    UnknownCredit,
)


@dataclass(frozen=True, slots=True)
class Credit:
    id: str  # "<purchase id>/<item index>": stable, so a booking can name the credit it used
    package: str  # the PackageOffer key
    service: str
    visit_type: str
    granted: int
    remaining: int
    expires_at: datetime  # aware

    def __post_init__(self) -> None:
        if not 0 <= self.remaining <= self.granted:
            raise ValueError(f"remaining {self.remaining} is outside 0..{self.granted}")
        if self.expires_at.tzinfo is None:
            raise ValueError("expires_at must be an aware datetime")

    def covers(self, service: str, visit_type: str) -> bool:
        return (self.service, self.visit_type) == (service, visit_type)

    def usable_at(self, at: datetime) -> bool:
        return self.remaining > 0 and at < self.expires_at


def credit_id(purchase_id: str, item_index: int) -> str:
    return f"{purchase_id}/{item_index}"


def grant(offer: PackageOffer, *, purchase_id: str, purchased_at: datetime) -> tuple[Credit, ...]:
    """The credits a purchase of `offer` gives, valid `offer.valid_days` from `purchased_at`."""
    if purchased_at.tzinfo is None:
        raise ValueError("purchased_at must be an aware datetime")
    expires_at = purchased_at + timedelta(days=offer.valid_days)
    return tuple(
        Credit(
            id=credit_id(purchase_id, i),
            package=offer.key,
            service=item.service,
            visit_type=item.visit_type,
            granted=item.visits,
            remaining=item.visits,
            expires_at=expires_at,
        )
        for i, item in enumerate(offer.items)
    )


def pick(credits: Sequence[Credit], service: str, visit_type: str, at: datetime) -> Credit | None:
    """The credit a visit of `service`/`visit_type` at `at` would use: earliest expiry first."""
    fitting = [c for c in credits if c.covers(service, visit_type) and c.usable_at(at)]
    return min(fitting, key=lambda c: (c.expires_at, c.id), default=None)


def consume(credits: Sequence[Credit], credit_id: str, at: datetime) -> tuple[Credit, ...]:
    """Use one visit of the named credit; refused when it is empty or expired at `at`."""
    credit = _find(credits, credit_id)
    if credit.remaining == 0:
        raise CreditUnavailable(f"package credit {credit_id} has no visits left")
    if not credit.usable_at(at):
        raise CreditUnavailable(
            f"package credit {credit_id} expired at {credit.expires_at.isoformat()}"
        )
    return _replace(credits, dataclasses.replace(credit, remaining=credit.remaining - 1))


def consume_for(
    credits: Sequence[Credit], service: str, visit_type: str, at: datetime
) -> tuple[tuple[Credit, ...], Credit]:
    """Use the credit `pick` chooses; returns the new credits and the one used (before use)."""
    credit = pick(credits, service, visit_type, at)
    if credit is None:
        raise CreditUnavailable(
            f"no unexpired package credit for a {service} {visit_type} visit; "
            "pay for the visit or buy a package"
        )
    return consume(credits, credit.id, at), credit


def not_returnable_because(credit: Credit, at: datetime) -> str | None:
    """Why a visit cannot go back to `credit` at `at`; None when it can."""
    if credit.remaining >= credit.granted:
        return f"package credit {credit.id} has no used visit to return"
    if at >= credit.expires_at:
        return f"package credit {credit.id} expired at {credit.expires_at.isoformat()}"
    return None


def return_visit(credits: Sequence[Credit], credit_id: str, at: datetime) -> tuple[Credit, ...]:
    """Give back one visit to the credit it was taken from (a cancellation within policy)."""
    credit = _find(credits, credit_id)
    reason = not_returnable_because(credit, at)
    if reason is not None:
        raise CreditNotReturnable(reason)
    return _replace(credits, dataclasses.replace(credit, remaining=credit.remaining + 1))


def balance(credits: Sequence[Credit], at: datetime) -> Mapping[tuple[str, str], int]:
    """Usable visits at `at` per (service, visit type); expired and empty credits count 0."""
    out: dict[tuple[str, str], int] = {}
    for credit in credits:
        if credit.usable_at(at):
            key = (credit.service, credit.visit_type)
            out[key] = out.get(key, 0) + credit.remaining
    return out


def _find(credits: Sequence[Credit], credit_id: str) -> Credit:
    for credit in credits:
        if credit.id == credit_id:
            return credit
    raise UnknownCredit(f"the patient has no package credit {credit_id}")


def _replace(credits: Sequence[Credit], new: Credit) -> tuple[Credit, ...]:
    return tuple(new if c.id == new.id else c for c in credits)
