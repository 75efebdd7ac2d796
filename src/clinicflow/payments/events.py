"""Events payments publishes (past tense, versioned): payment.succeeded, payment.failed,
payment.canceled, payment.refunded. Ids, amounts and statuses only, no PHI: the
notifications context looks the patient up itself to send a receipt."""

from __future__ import annotations

from datetime import datetime

from clinicflow.infra.outbox import Event
from clinicflow.payments.domain.orders import Order
from clinicflow.payments.domain.quotes import visit_booking_ids


def payment_event(kind: str, order: Order, now: datetime, **extra: object) -> Event:
    payload = {
        "order_id": order.id,
        "patient_id": order.patient_id,
        "status": order.status,
        "method": order.method,
        "provider": order.provider,
        "total_cents": order.total_cents,
        "refunded_cents": order.refunded_cents,
        "currency": order.currency,
        "booking_ids": visit_booking_ids(order.quote),
        **extra,
    }
    return Event(
        type=f"payment.{kind}",
        aggregate_type="payment",
        aggregate_id=order.id,
        occurred_at=now,
        payload=payload,
    )
