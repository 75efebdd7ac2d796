"""Order discounts: the multi-service discount and a promotion code, and how they combine.

Both apply only to visits paid in money (`Paid`): a visit covered by a package credit was
already bought at the package's price, and a package purchase is itself the bundle discount.

1. Multi-service: `percent` of the paid visits' sum when they hold more than one service, as
   `count` decides (distinct services by default; `items` counts every visit, like the seed).
2. Promotion: its rate of the eligible visits' amount. When it stacks, that amount is what is
   left after the multi-service discount; when it does not and both apply, the patient gets
   the larger of the two (a tie keeps the multi-service discount, so the code is not spent).
   A code that would take nothing off is not applied either, for the same reason.
   Eligibility is the promotion's data: its services (no visit of them at all is an error:
   the wrong code for this order), its visit types and `new_patients_only` (a visit of the
   wrong type, or a returning patient, leaves the code unapplied with a note saying why).

Each discount is rounded half-up to the cent once, never exceeds the amount it applies to,
and is spread over its lines in proportion (`money.allocate`), so line totals add up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from clinicflow.catalog.domain import MultiServiceCount, MultiServiceDiscount, Promotion
from clinicflow.payments.domain.errors import PromotionNotApplicable
from clinicflow.payments.domain.money import allocate, dollars, percent_of, rate_of
from clinicflow.payments.domain.promotions import applies_to, describe

MULTI_SERVICE = "multi_service"  # lower case: never a promotion code, which are capitals


class DiscountKind(StrEnum):
    MULTI_SERVICE = "multi_service"
    PROMOTION = "promotion"


@dataclass(frozen=True, slots=True)
class Paid:
    """A visit line paid in money, as the discount rules see it."""

    index: int  # the line's position in the order
    service: str
    cents: int
    visit_type: str = ""


@dataclass(frozen=True, slots=True)
class Discount:
    kind: DiscountKind
    code: str  # MULTI_SERVICE or the promotion code (capitals)
    description: str  # why it applied, for the patient
    base_cents: int  # the amount it was taken from
    amount_cents: int
    shares: tuple[tuple[int, int], ...]  # (line index, cents) adding up to amount_cents


def qualifies(services: Sequence[str], count: MultiServiceCount) -> bool:
    """Whether paid visits of these services make a multi-service order."""
    counted = len(set(services)) if count is MultiServiceCount.DISTINCT_SERVICES else len(services)
    return counted > 1


def multi_service(paid: Sequence[Paid], rule: MultiServiceDiscount) -> Discount | None:
    if rule.percent == 0 or not qualifies([p.service for p in paid], rule.count):
        return None
    base = sum(p.cents for p in paid)
    amount = percent_of(base, rule.percent)
    what = "services" if rule.count is MultiServiceCount.DISTINCT_SERVICES else "visits"
    why = f"{rule.percent.normalize():f}% off for booking more than one of our {what} together"
    return _discount(DiscountKind.MULTI_SERVICE, MULTI_SERVICE, why, paid, amount)


def promotion_discount(
    paid: Sequence[Paid], promotion: Promotion, taken: Mapping[int, int]
) -> Discount:
    """The promotion on its eligible lines, after `taken` (cents already off each line)."""
    eligible = [
        Paid(p.index, p.service, p.cents - taken.get(p.index, 0), p.visit_type)
        for p in paid
        if applies_to(promotion, p.service)
    ]
    amount = rate_of(sum(p.cents for p in eligible), promotion.discount)
    return _discount(DiscountKind.PROMOTION, promotion.code, describe(promotion), eligible, amount)


def qualifying(
    paid: Sequence[Paid], promotion: Promotion, returning_patient: bool | None
) -> tuple[list[Paid], str | None]:
    """The visits the promotion may discount, and a note on any it may not (and why). An
    unknown patient (an anonymous quote) is not refused: payment names the patient."""
    code = promotion.code
    of_services = [p for p in paid if applies_to(promotion, p.service)]
    if not of_services:
        services = ", ".join(sorted(promotion.services or ()))
        raise PromotionNotApplicable(
            f"{code} applies to {services}; this order has no such visit to pay for "
            "(visits covered by package credits do not count)"
        )
    if promotion.new_patients_only and returning_patient:
        return [], (
            f"code {code} was not applied: it is for new patients only "
            f"({describe(promotion)}), and this patient has visited the clinic before"
        )
    kinds = promotion.visit_types
    fitting = [p for p in of_services if kinds is None or p.visit_type in kinds]
    types = ", ".join(sorted(kinds or ()))
    if not fitting:
        return [], f"code {code} was not applied: it is for {types} visits only"
    if len(fitting) < len(of_services):
        return fitting, f"code {code} is for {types} visits only: the others are not discounted"
    return fitting, None


def combine(
    paid: Sequence[Paid],
    rule: MultiServiceDiscount,
    promotion: Promotion | None,
    returning_patient: bool | None = None,
) -> tuple[tuple[Discount, ...], tuple[str, ...]]:
    """The discounts that apply, in order, and notes on any that were set aside.
    `returning_patient`: whether the patient has visited before (None: not known)."""
    multi = multi_service(paid, rule)
    if promotion is None:
        return _present(multi), ()
    eligible, why = qualifying(paid, promotion, returning_patient)
    said = () if why is None else (why,)
    if not eligible:
        return _present(multi), said
    discounts, notes = _with_promotion(eligible, multi, promotion)
    return discounts, (*said, *notes)


def _with_promotion(
    paid: Sequence[Paid], multi: Discount | None, promotion: Promotion
) -> tuple[tuple[Discount, ...], tuple[str, ...]]:
    if multi is None or promotion.stacks_with_multi_service:
        promo = promotion_discount(paid, promotion, dict(multi.shares) if multi else {})
        if promo.amount_cents == 0:
            return _present(multi), (_worth_nothing(promotion),)
        return (*_present(multi), promo), ()
    promo = promotion_discount(paid, promotion, {})
    if promo.amount_cents > multi.amount_cents:
        note = (
            f"the multi-service discount ({dollars(multi.amount_cents)}) was replaced by code "
            f"{promotion.code} ({dollars(promo.amount_cents)}); they do not combine"
        )
        return (promo,), (note,)
    note = (
        f"code {promotion.code} was not applied: the multi-service discount "
        f"({dollars(multi.amount_cents)}) is at least as large and they do not combine"
    )
    return (multi,), (note,)


def _worth_nothing(promotion: Promotion) -> str:
    # Applying it would spend the patient's use of the code for nothing.
    return f"code {promotion.code} was not applied: it takes nothing off this order"


def _present(discount: Discount | None) -> tuple[Discount, ...]:
    return () if discount is None else (discount,)


def _discount(
    kind: DiscountKind, code: str, why: str, lines: Sequence[Paid], amount: int
) -> Discount:
    base = sum(p.cents for p in lines)
    amount = max(0, min(amount, base))  # never more than what it applies to
    cents = allocate(amount, [p.cents for p in lines])
    shares = tuple((p.index, c) for p, c in zip(lines, cents, strict=True))
    return Discount(kind, code, why, base, amount, shares)
