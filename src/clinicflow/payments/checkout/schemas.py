"""HTTP request and response shapes for checkout. Field names are the public contract."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.checkout.views import Checkout
from clinicflow.payments.orders.schemas import PaymentOut
from clinicflow.payments.schemas import Code, Id, Key, Method, PaymentsIn, Tender


class CheckoutIn(PaymentsIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"booking_ids": ["01JD0000000000000000000000"], "method": "stripe"},
                {"package": "gaps_starter", "method": "in_clinic", "tender": "card_terminal"},
            ]
        }
    )

    booking_ids: list[Id] = Field(default_factory=list, max_length=20)
    package: Key | None = None
    method: Method
    promo_code: Code | None = None
    patient_id: Id | None = None
    tender: Tender | None = None
    fallback: bool = False
    use_credits: bool = True

    def request(self) -> CheckoutRequest:
        return CheckoutRequest(
            tuple(self.booking_ids),
            self.package,
            self.method,
            self.promo_code,
            self.patient_id,
            self.tender,
            self.fallback,
            self.use_credits,
        )


class CheckoutOut(PaymentOut):
    # Stripe: for Stripe.js in the buyer's browser; never stored or logged here.
    client_secret: str | None = None
    approve_url: str | None = None  # PayPal: send the buyer here to approve
    fallback_from: str | None = None  # the method that was down when the other was used

    @classmethod
    def of_checkout(cls, c: Checkout) -> CheckoutOut:
        base = PaymentOut.of(c.order).model_dump()
        return cls(
            **base,
            client_secret=c.client_secret,
            approve_url=c.approve_url,
            fallback_from=c.fallback_from,
        )
