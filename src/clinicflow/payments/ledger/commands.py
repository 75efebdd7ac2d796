"""What the ledger's use cases are given: a gateway's word on one payment."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.payments.ports import GatewayEvent, GatewayPayment

_EVENT_STATUS = {
    "payment.succeeded": "succeeded",
    "payment.failed": "failed",
    "payment.processing": "processing",
    "payment.canceled": "canceled",
    "payment.requires_capture": "requires_capture",
}


@dataclass(frozen=True, slots=True)
class Report:
    """A gateway's word on one payment."""

    provider: str
    provider_id: str | None
    status: str
    amount_cents: int | None  # received, when it succeeded
    currency: str | None
    order_id: str | None = None
    failure_code: str | None = None

    @classmethod
    def of_payment(cls, p: GatewayPayment) -> Report:
        return cls(
            p.provider,
            p.provider_id,
            p.status,
            p.amount_received_cents,
            p.currency,
            failure_code=p.failure_code,
        )

    @classmethod
    def of_event(cls, e: GatewayEvent) -> Report | None:
        status = _EVENT_STATUS.get(e.type)
        if status is None:
            return None
        return cls(
            e.provider,
            e.provider_payment_id,
            status,
            e.amount_cents,
            e.currency,
            e.order_id,
            e.failure_code,
        )
