"""The waitlist's bus subscribers: freed slots (booking.cancelled) become offers; payments
(payment.succeeded) mark converted entries paid. Each records the events it handled in the
inbox, so a repeated delivery does nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from clinicflow.infra.bus import Envelope
from clinicflow.infra.inbox import Inbox
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.conversion import Conversions
from clinicflow.waitlist.offers import Offers
from clinicflow.waitlist.ports import Slot


class FreedSlots:
    name = "waitlist_offers"
    types = frozenset({"booking.cancelled"})

    def __init__(
        self, offers: Offers, inbox: Inbox, enabled: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        """`enabled`: the `waitlist_auto_offers` feature flag; always on when not given."""
        self._offers = offers
        self._inbox = inbox
        self._enabled = enabled

    async def handle(self, event: Envelope) -> None:
        p = event.payload
        if p.get("patient_id") is None:
            return  # a bare hold let go: no visit was freed
        if self._enabled is not None and not await self._enabled():
            return  # switched off: the slot simply opens for anyone
        if await self._inbox.seen(self.name, event.event_id):
            return
        slot = Slot(
            service=str(p["service"]),
            visit_type=str(p["visit_type"]),
            duration=int(p["duration"]),
            start=datetime.fromisoformat(str(p["start"])),
            practitioner=str(p["practitioner"]),
        )
        await self._offers.slot_freed(slot, str(p["patient_id"]))
        async with self._inbox.handling(self.name, event):
            pass  # recorded after the offer: a redelivery finds the slot held, or handled


class PaidVisits:
    name = "waitlist_conversions"
    types = frozenset({"payment.succeeded"})

    def __init__(self, conversions: Conversions, inbox: Inbox, clock: Clock) -> None:
        self._conversions = conversions
        self._inbox = inbox
        self._clock = clock

    async def handle(self, event: Envelope) -> None:
        booking_ids = [str(b) for b in event.payload.get("booking_ids") or []]
        async with self._inbox.handling(self.name, event) as conn:
            if conn is not None:
                await self._conversions.paid(conn, booking_ids, self._clock.now())
