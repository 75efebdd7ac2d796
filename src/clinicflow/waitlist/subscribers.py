"""The waitlist's bus subscribers: freed slots (booking.cancelled) become offers; payments
(payment.succeeded) mark converted entries paid. Each records the events it handled in the
inbox, so a repeated delivery does nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from clinicflow.infra.bus import Envelope
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.conversions.service import ConversionService
from clinicflow.waitlist.domain.slots import Slot
from clinicflow.waitlist.offers.service import OfferService
from clinicflow.waitlist.ports import WaitlistUnitOfWork


@dataclass(kw_only=True, eq=False)
class FreedSlots:
    name = "waitlist_offers"
    types = frozenset({"booking.cancelled"})

    offers: OfferService
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    # The `waitlist_auto_offers` feature flag; always on when not given.
    enabled: Callable[[], Awaitable[bool]] | None = None

    async def handle(self, event: Envelope) -> None:
        p = event.payload
        if p.get("patient_id") is None:
            return  # a bare hold let go: no visit was freed
        if self.enabled is not None and not await self.enabled():
            return  # switched off: the slot simply opens for anyone
        async with self.uow.reading() as uow:
            if await uow.inbox.seen(self.name, event.event_id):
                return
        slot = Slot(
            service=str(p["service"]),
            visit_type=str(p["visit_type"]),
            duration=int(p["duration"]),
            start=datetime.fromisoformat(str(p["start"])),
            practitioner=str(p["practitioner"]),
        )
        await self.offers.slot_freed(slot, str(p["patient_id"]))
        # Recorded after the offer (it holds the slot in booking's own transaction first): a
        # redelivery finds the slot held, or handled.
        async with self.uow() as uow:
            await uow.inbox.mark(self.name, event.event_id, self.clock)
            await uow.commit()


@dataclass(kw_only=True, eq=False)
class PaidVisits:
    name = "waitlist_conversions"
    types = frozenset({"payment.succeeded"})

    conversions: ConversionService

    async def handle(self, event: Envelope) -> None:
        booking_ids = [str(b) for b in event.payload.get("booking_ids") or []]
        await self.conversions.paid(self.name, event.event_id, booking_ids)
