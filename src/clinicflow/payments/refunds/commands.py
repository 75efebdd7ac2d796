"""What the refund use cases are asked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RefundRequest:
    booking_id: str | None  # None: the whole order (or `amount_cents` of it)
    amount_cents: int | None  # None: as the policy says (a visit) or all that is left
    reason: str
    return_credit: bool | None = None  # staff: give the package credit back, or not
    rule: str | None = None  # set by the platform itself (visit_lost, paid_after_cancel)
