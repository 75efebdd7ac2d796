"""The bus subscriber "payments": a paid visit that is cancelled, or marked a no-show, is
refunded by the cancellation policy, as the platform itself (SYSTEM).

At least once: the refund's idempotency key comes from the event id, so a redelivery finds
the refund it started (and finishes it), and a visit already refunded (by staff, say) is
left alone. A gateway outage raises, and the bus retries with backoff.
"""

from __future__ import annotations

from clinicflow.infra.bus import Envelope
from clinicflow.payments.refunds.service import RefundService

_STATUS = {"booking.cancelled": "cancelled", "booking.no_show": "no_show"}


class PaymentsSubscriber:
    name = "payments"
    types = frozenset(_STATUS)

    def __init__(self, *, refunds: RefundService) -> None:
        self._refunds = refunds

    async def handle(self, event: Envelope) -> None:
        booking_id = event.payload.get("booking_id")
        if not isinstance(booking_id, str):
            return
        key = f"auto:{event.event_id}"
        await self._refunds.after_visit(booking_id, _STATUS[event.type], event.occurred_at, key)
