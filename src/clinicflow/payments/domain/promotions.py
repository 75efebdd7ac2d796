"""Promotion codes: finding one, and whether it may be used today by this patient.

Dates are the clinic's local days: a code is valid from the start of `starts` to the end of
`ends` in the clinic's time zone (the caller converts `now` with `local_day`). Limits count
uses before this order: with max_uses 100, the 100th use is allowed and the 101st refused.
Eligibility against the order's lines is decided in `pricing`, which knows which lines are
paid in money (a line covered by a package credit is not discounted again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from clinicflow.catalog.domain import Promotion
from clinicflow.payments.domain.errors import (
    PromotionExpired,
    PromotionNotStarted,
    PromotionPatientLimitReached,
    PromotionUsedUp,
    UnknownPromotionCode,
)
from clinicflow.payments.domain.money import dollars


@dataclass(frozen=True, slots=True)
class PromoUsage:
    """How often the code was used before this order, by anyone and by this patient."""

    total: int = 0
    by_patient: int = 0

    def __post_init__(self) -> None:
        if self.total < 0 or self.by_patient < 0 or self.by_patient > self.total:
            raise ValueError(f"impossible usage counts: {self.total} total, {self.by_patient}")


def normalize_code(code: str) -> str:
    return code.strip().upper()


def find(promotions: Mapping[str, Promotion], code: str) -> Promotion:
    """The promotion a patient typed, in any case and with stray spaces."""
    promotion = promotions.get(normalize_code(code))
    if promotion is None:
        raise UnknownPromotionCode(f"{code.strip()!r} is not a promotion code; check the spelling")
    return promotion


def local_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def check(promotion: Promotion, usage: PromoUsage, today: date) -> None:
    """Raise the reason `promotion` cannot be used on `today` after `usage`; None when it can."""
    code = promotion.code
    if today < promotion.starts:
        raise PromotionNotStarted(f"{code} can be used from {promotion.starts.isoformat()}")
    if promotion.ends is not None and today > promotion.ends:
        raise PromotionExpired(f"{code} ended on {promotion.ends.isoformat()}")
    if promotion.max_uses is not None and usage.total >= promotion.max_uses:
        raise PromotionUsedUp(f"{code} has been used its {promotion.max_uses} times")
    limit = promotion.max_uses_per_patient
    if limit is not None and usage.by_patient >= limit:
        times = "once" if limit == 1 else f"{limit} times"
        raise PromotionPatientLimitReached(f"{code} can be used {times} per patient")


def applies_to(promotion: Promotion, service: str) -> bool:
    return promotion.services is None or service in promotion.services


def describe(promotion: Promotion) -> str:
    rate = promotion.discount
    off = f"{rate.percent.normalize():f}%" if rate.percent is not None else dollars(rate.cents or 0)
    return promotion.description or f"{off} off with code {promotion.code}"
