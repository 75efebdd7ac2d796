"""Refunds of a prepaid visit from the clinic's cancellation policy, with a staff override.

- Cancelled at least `full_refund_hours` before the start (exactly 24 h counts as in time):
  everything paid comes back and a package credit is returned.
- Cancelled later, or after the start: the late-cancellation fee is kept; a package credit is
  kept too, unless `return_credit_on_late_cancel`.
- No-show: the no-show fee is kept and the credit is used.
- Staff may replace the amount (0..paid) and the credit decision, always with a reason; the
  decision keeps what the policy alone would have said, for the audit trail.
- A goodwill refund on a visit that was not cancelled (nor missed) is the staff's amount
  alone: no cancellation happened, so no fee is kept and no cancellation is described.

A fee is never more than what was paid (a percentage is rounded half-up to the cent, a fixed
fee is capped), so refund + fee = paid and neither is negative.

`Refund` is a refund as stored (`payments_refund`); `whole_order` decides a refund of an
order rather than of one visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from clinicflow.catalog.domain import CancellationPolicy, Rate
from clinicflow.payments.domain.errors import InvalidRefundOverride
from clinicflow.payments.domain.money import dollars, rate_of


class RefundRule(StrEnum):
    IN_TIME = "in_time"
    LATE_CANCELLATION = "late_cancellation"
    NO_SHOW = "no_show"
    STAFF_OVERRIDE = "staff_override"


@dataclass(frozen=True, slots=True)
class StaffOverride:
    refund_cents: int
    reason: str
    return_credit: bool | None = None  # None: as the policy says


@dataclass(frozen=True, slots=True)
class RefundDecision:
    refund_cents: int
    fee_cents: int
    rule: RefundRule
    reason: str
    credit_returned: bool  # a package credit is due back (packages.return_visit does it)
    policy_rule: RefundRule  # what the policy alone decided; differs only when overridden


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund as stored: decided, sent to the gateway (`pending`), then booked."""

    id: str
    order_id: str
    booking_id: str | None  # None: of the whole order
    amount_cents: int
    fee_cents: int
    rule: str
    reason: str
    status: str  # pending | succeeded | failed
    provider: str
    provider_refund_id: str | None
    idempotency_key: str  # sent to the gateway: a retry finds this refund
    credit_returned: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def booked(self) -> bool:
        """Whether the gateway's answer (or, with no money to move, the refund) is booked."""
        return self.status == "succeeded" or self.provider_refund_id is not None


def whole_order(
    left_cents: int, amount_cents: int | None, reason: str, *, staff: bool
) -> RefundDecision:
    """A refund of `amount_cents` (None: all that is left) of an order, not of one visit."""
    amount = left_cents if amount_cents is None else amount_cents
    if not 0 < amount <= left_cents:
        raise InvalidRefundOverride(
            f"amount_cents must be between 1 and the {left_cents} cents not yet refunded, "
            f"not {amount}"
        )
    why = f"staff: {reason}" if staff else reason
    rule = RefundRule.STAFF_OVERRIDE
    return RefundDecision(amount, 0, rule, why, False, rule)


@dataclass(frozen=True, slots=True)
class Fee:
    rule: RefundRule
    fee_cents: int
    reason: str


def cancellation_fee(
    price_cents: int,
    *,
    starts_at: datetime,
    cancelled_at: datetime,
    policy: CancellationPolicy,
    no_show: bool = False,
) -> Fee:
    """The fee the policy keeps (or charges, for a visit not paid ahead) out of `price_cents`."""
    if price_cents < 0:
        raise ValueError(f"a price is 0 or more, not {price_cents}")
    if no_show:
        fee = rate_of(price_cents, policy.no_show_fee)
        return Fee(RefundRule.NO_SHOW, fee, f"did not attend: {_fee(policy.no_show_fee, fee)}")
    notice = starts_at - cancelled_at
    when = _notice(notice)
    hours = policy.full_refund_hours
    if not is_late(starts_at, cancelled_at, policy):
        reason = f"cancelled {when}, at least {hours} h ahead: full refund"
        return Fee(RefundRule.IN_TIME, 0, reason)
    fee = rate_of(price_cents, policy.late_cancel_fee)
    reason = f"cancelled {when}, less than {hours} h ahead: {_fee(policy.late_cancel_fee, fee)}"
    return Fee(RefundRule.LATE_CANCELLATION, fee, reason)


def is_late(starts_at: datetime, cancelled_at: datetime, policy: CancellationPolicy) -> bool:
    """Whether a cancellation at `cancelled_at` falls in the late window, where the
    late-cancellation fee is kept (less than `full_refund_hours` before the start)."""
    return starts_at - cancelled_at < timedelta(hours=policy.full_refund_hours)


def refund_for(
    paid_cents: int,
    *,
    starts_at: datetime,
    cancelled_at: datetime,
    policy: CancellationPolicy,
    no_show: bool = False,
    paid_with_credit: bool = False,
    override: StaffOverride | None = None,
) -> RefundDecision:
    """What goes back to the patient for a visit they paid `paid_cents` for (0 with a credit)."""
    fee = cancellation_fee(
        paid_cents, starts_at=starts_at, cancelled_at=cancelled_at, policy=policy, no_show=no_show
    )
    credit_back = paid_with_credit and (
        fee.rule is RefundRule.IN_TIME
        or (fee.rule is RefundRule.LATE_CANCELLATION and policy.return_credit_on_late_cancel)
    )
    reason = fee.reason + (_credit_note(credit_back) if paid_with_credit else "")
    decided = RefundDecision(
        paid_cents - fee.fee_cents, fee.fee_cents, fee.rule, reason, credit_back, fee.rule
    )
    if override is None:
        return decided
    return _overridden(decided, paid_cents, paid_with_credit, override)


def goodwill(
    paid_cents: int, override: StaffOverride, *, paid_with_credit: bool = False
) -> RefundDecision:
    """Staff give back `override.refund_cents` of a visit that was not cancelled or missed."""
    why = _checked(override, paid_cents, paid_with_credit)
    return RefundDecision(
        refund_cents=override.refund_cents,
        fee_cents=0,
        rule=RefundRule.STAFF_OVERRIDE,
        reason=f"staff goodwill: {why} (the visit was not cancelled)",
        credit_returned=bool(override.return_credit),
        policy_rule=RefundRule.STAFF_OVERRIDE,  # no policy speaks to a visit not cancelled
    )


def _checked(override: StaffOverride, paid_cents: int, paid_with_credit: bool) -> str:
    why = override.reason.strip()
    if not why:
        raise InvalidRefundOverride(
            "a staff override needs a reason; say why the policy is set aside"
        )
    if not 0 <= override.refund_cents <= paid_cents:
        raise InvalidRefundOverride(
            f"the refund must be between 0 and the {paid_cents} cents paid, "
            f"not {override.refund_cents}"
        )
    if override.return_credit and not paid_with_credit:
        raise InvalidRefundOverride(
            "this visit was not paid with a package credit; leave return_credit out"
        )
    return why


def _overridden(
    decided: RefundDecision, paid_cents: int, paid_with_credit: bool, override: StaffOverride
) -> RefundDecision:
    why = _checked(override, paid_cents, paid_with_credit)
    credit_back = (
        decided.credit_returned if override.return_credit is None else override.return_credit
    )
    return RefundDecision(
        refund_cents=override.refund_cents,
        fee_cents=paid_cents - override.refund_cents,
        rule=RefundRule.STAFF_OVERRIDE,
        reason=f"staff override: {why} (policy: {decided.reason})",
        credit_returned=credit_back,
        policy_rule=decided.policy_rule,
    )


def _fee(rate: Rate, cents: int) -> str:
    if rate.percent is not None:
        return f"fee of {rate.percent.normalize():f}% ({dollars(cents)})"
    return f"fee of {dollars(cents)}"


def _notice(notice: timedelta) -> str:
    minutes = int(abs(notice).total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    span = f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{span} before the start" if notice >= timedelta(0) else f"{span} after the start"


def _credit_note(returned: bool) -> str:
    return "; the package credit is returned" if returned else "; the package credit is used"
