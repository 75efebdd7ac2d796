"""What the checkout use cases are asked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    booking_ids: tuple[str, ...] = ()
    package: str | None = None
    method: str = "stripe"
    promo_code: str | None = None
    patient_id: str | None = None  # staff: whose order (a hold has no patient yet)
    tender: str | None = None  # in_clinic: cash or card_terminal
    fallback: bool = False  # use the other gateway at once when this one is down
    use_credits: bool = True
