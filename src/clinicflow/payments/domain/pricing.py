"""The price of an order: visits and package purchases, credits, discounts, total.

`quote` works in this order (docs/pricing.md has the reasons and worked examples):

1. A promotion code is checked first (dates in the clinic's zone, usage limits), so a bad code
   is refused whatever the order holds.
2. Package purchases are priced at the package price and grant their credits, so a visit in
   the same order can already use them.
3. Each visit uses a package credit when the patient has one for that service and visit type
   (earliest expiry first, valid now and at the visit's start); it then costs 0. Otherwise it
   costs its catalog price; an undecided (TBD) price makes the item unpriceable.
4. Discounts (`discounts.combine`) apply to the visits paid in money.
5. The total is the lines' sum less the discounts, never below zero. A quote with an
   unpriceable item has no total and names each such item with the reason.

Everything is integer cents in the clinic's currency.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog.domain import Catalog, PackageOffer, Promotion, Service
from clinicflow.payments.domain import packages
from clinicflow.payments.domain.discounts import Discount, DiscountKind, Paid, combine
from clinicflow.payments.domain.errors import UnknownPriceItem
from clinicflow.payments.domain.packages import Credit
from clinicflow.payments.domain.promotions import PromoUsage, check, local_day


@dataclass(frozen=True, slots=True)
class VisitLine:
    """One visit (one booking) of a service's visit type."""

    service: str
    visit_type: str
    booking_id: str | None = None
    starts_at: datetime | None = None  # when known, a credit must still be valid then
    use_credit: bool = True  # False: pay in money even when a credit would cover it


@dataclass(frozen=True, slots=True)
class PackageLine:
    package: str  # a PackageOffer key
    purchase_id: str | None = None  # the id its credits will carry; "line-<index>" if None


Line = VisitLine | PackageLine


@dataclass(frozen=True, slots=True)
class QuoteLine:
    index: int
    line: Line
    description: str
    unit_cents: int | None  # list price; None when undecided (TBD)
    credit_id: str | None  # the package credit that covers this visit
    subtotal_cents: int  # charged before discounts: 0 when a credit covers it or unpriceable
    discount_cents: int  # this line's share of the order's discounts
    hsa_fsa_eligible: bool

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents


@dataclass(frozen=True, slots=True)
class Unpriceable:
    index: int
    item: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.index + 1} ({self.item}): {self.reason}"


@dataclass(frozen=True, slots=True)
class Quote:
    currency: str
    lines: tuple[QuoteLine, ...]
    discounts: tuple[Discount, ...] = ()
    unpriceable: tuple[Unpriceable, ...] = ()
    notes: tuple[str, ...] = ()  # discounts set aside, and why
    # The patient's credits once the order is placed: purchases granted, visits consumed.
    # Empty when unpriceable: such an order cannot be placed.
    credits_after: tuple[Credit, ...] = ()

    @property
    def priceable(self) -> bool:
        return not self.unpriceable

    @property
    def subtotal_cents(self) -> int | None:
        return sum(line.subtotal_cents for line in self.lines) if self.priceable else None

    @property
    def discount_cents(self) -> int:
        return sum(d.amount_cents for d in self.discounts)

    @property
    def total_cents(self) -> int | None:
        if not self.priceable:
            return None
        return max(0, sum(line.subtotal_cents for line in self.lines) - self.discount_cents)

    @property
    def promotion_code(self) -> str | None:
        """The code actually applied: record a use of it only when this is not None."""
        return next((d.code for d in self.discounts if d.kind is DiscountKind.PROMOTION), None)


def quote(
    lines: Sequence[Line],
    *,
    catalog: Catalog,
    now: datetime,
    promotion: Promotion | None = None,
    promo_usage: PromoUsage | None = None,
    credits: Sequence[Credit] = (),
    returning_patient: bool | None = None,
) -> Quote:
    """`returning_patient`: whether the patient has visited before (for promotions open to
    new patients only); None when the patient is not known."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if promotion is not None:
        check(promotion, promo_usage or PromoUsage(), local_day(now, catalog.clinic.tz))
    wallet = tuple(credits)
    priced: dict[int, QuoteLine] = {}
    unpriceable: list[Unpriceable] = []
    for i, line in enumerate(lines):  # purchases first: their credits may cover visits below
        if isinstance(line, PackageLine):
            priced[i], wallet = _package_line(i, line, catalog, now, wallet, unpriceable)
    for i, line in enumerate(lines):
        if isinstance(line, VisitLine):
            priced[i], wallet = _visit_line(i, line, catalog, now, wallet, unpriceable)
    ordered = tuple(priced[i] for i in range(len(lines)))
    if unpriceable:
        return Quote(catalog.clinic.currency, ordered, unpriceable=tuple(unpriceable))
    paid = [
        Paid(q.index, q.line.service, q.subtotal_cents, q.line.visit_type)
        for q in ordered
        if isinstance(q.line, VisitLine) and q.credit_id is None
    ]
    discounts, notes = combine(
        paid, catalog.payments.multi_service_discount, promotion, returning_patient
    )
    return Quote(
        currency=catalog.clinic.currency,
        lines=_with_shares(ordered, discounts),
        discounts=discounts,
        notes=notes,
        credits_after=wallet,
    )


def _package_line(
    i: int,
    line: PackageLine,
    catalog: Catalog,
    now: datetime,
    wallet: tuple[Credit, ...],
    unpriceable: list[Unpriceable],
) -> tuple[QuoteLine, tuple[Credit, ...]]:
    offer = catalog.payments.packages.get(line.package)
    if offer is None:
        known = ", ".join(catalog.payments.packages) or "none"
        raise UnknownPriceItem(f"line {i + 1}: no package {line.package!r}; packages: {known}")
    if offer.price_cents is None:
        unpriceable.append(Unpriceable(i, offer.name, "the package price is not decided (TBD)"))
    purchase_id = line.purchase_id or f"line-{i}"
    granted = packages.grant(offer, purchase_id=purchase_id, purchased_at=now)
    hsa = _package_hsa(offer, catalog.payments.hsa_fsa_eligible)
    cents = offer.price_cents
    quoted = QuoteLine(i, line, offer.name, cents, None, cents or 0, 0, hsa)
    return quoted, (*wallet, *granted)


def _visit_line(
    i: int,
    line: VisitLine,
    catalog: Catalog,
    now: datetime,
    wallet: tuple[Credit, ...],
    unpriceable: list[Unpriceable],
) -> tuple[QuoteLine, tuple[Credit, ...]]:
    service = _service(i, line, catalog.services)
    visit_type = service.visit_types[line.visit_type]
    item = f"{service.name}, {line.visit_type}"
    hsa = service.key in catalog.payments.hsa_fsa_eligible
    credit = _credit_for(line, wallet, now) if line.use_credit else None
    if credit is not None:
        wallet = packages.consume(wallet, credit.id, now)
        return QuoteLine(i, line, item, visit_type.price_cents, credit.id, 0, 0, hsa), wallet
    reason = _why_unpriced(service, visit_type.price_cents)
    if reason is not None:
        unpriceable.append(Unpriceable(i, item, reason))
    cents = visit_type.price_cents
    return QuoteLine(i, line, item, cents, None, cents or 0, 0, hsa), wallet


def _service(i: int, line: VisitLine, services: Mapping[str, Service]) -> Service:
    service = services.get(line.service)
    if service is None:
        known = ", ".join(services)
        raise UnknownPriceItem(f"line {i + 1}: no service {line.service!r}; services: {known}")
    if line.visit_type not in service.visit_types:
        known = ", ".join(service.visit_types) or "none yet"
        raise UnknownPriceItem(
            f"line {i + 1}: {line.service} has no visit type {line.visit_type!r}; "
            f"its visit types: {known}"
        )
    return service


def _credit_for(line: VisitLine, wallet: Sequence[Credit], now: datetime) -> Credit | None:
    """A credit valid now and, when the start is known, still valid when the visit starts."""
    at = max(now, line.starts_at) if line.starts_at is not None else now
    return packages.pick(wallet, line.service, line.visit_type, at)


def _why_unpriced(service: Service, price_cents: int | None) -> str | None:
    if not service.active:
        waitlist = ": join the waitlist" if service.waitlist else ""
        return f"the service is not offered yet{waitlist}"
    if price_cents is None:
        return "the price of this visit is not decided yet (TBD)"
    return None


def _package_hsa(offer: PackageOffer, eligible: frozenset[str]) -> bool:
    return all(item.service in eligible for item in offer.items)


def _with_shares(
    lines: tuple[QuoteLine, ...], discounts: Sequence[Discount]
) -> tuple[QuoteLine, ...]:
    off: dict[int, int] = {}
    for discount in discounts:
        for index, cents in discount.shares:
            off[index] = off.get(index, 0) + cents
    return tuple(dataclasses.replace(q, discount_cents=off.get(q.index, 0)) for q in lines)
