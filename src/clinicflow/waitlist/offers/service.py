"""Freed-slot offers: a cancelled visit's slot goes to the waiting list, one person at a time.

On `booking.cancelled` (a patient's visit, not a bare hold), the slot is held as the system
(a booking hold, so nobody else can book it) and offered to the best-ranked waiting entry
it suits (the service; the preferred practitioner and weekly times when given). The offer's
link is open for `offer_minutes`; the hold outlives it by a small slack. Unclaimed, the
offers job closes it (entry back to waiting), keeps the same hold and offers the slot to
the next suitable entry; when nobody is left, or the visit would start before another
window could run out, the hold is released. Claimed, the hold is confirmed into a booking.
The database keeps one live offer per hold, and a claim locks its offer first, so a slot is
never offered to two people nor claimed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError
from clinicflow.waitlist.conversions.service import Claims, Link, record_booked
from clinicflow.waitlist.conversions.views import Claimed
from clinicflow.waitlist.domain.links import effective, new_token
from clinicflow.waitlist.domain.matching import suits
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.slots import Recovered, Slot, minutes, new_offer, slot_of
from clinicflow.waitlist.domain.standing import ranked_first
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.errors import no_such_link
from clinicflow.waitlist.events import slot_facts, waitlist_event
from clinicflow.waitlist.links.service import checked, opened, standings
from clinicflow.waitlist.messages.service import LinkMail, Outgoing
from clinicflow.waitlist.offers.views import OfferView
from clinicflow.waitlist.ports import BookingDesk, WaitlistUnitOfWork

_BATCH = 200


@dataclass(kw_only=True, eq=False)
class OfferService:
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    catalog: Catalog
    desk: BookingDesk
    policy: WaitlistPolicy
    timing: Timing
    mail: LinkMail
    claims: Claims

    async def slot_freed(self, slot: Slot, cancelled_patient: str | None) -> str | None:
        """Offer a freed slot; the offer id, or None when nobody suits or it is gone."""
        now = self.clock.now()
        if slot.start - now < self.timing.offer_window:
            return None  # no time left for anyone to claim it
        async with self.uow.reading() as uow:
            if not await self._suitable(uow, slot, "", cancelled_patient, now):
                return None
        try:
            hold = await self.desk.hold(slot)
        except DomainError:
            return None  # booked again meanwhile, or too close to its start
        outgoing: list[Outgoing] = []
        async with self.uow() as uow:
            offer_id = await self._offer_or_let_go(
                uow, hold.id, slot, cancelled_patient, now, outgoing
            )
            await uow.commit()
        await self.mail.send(outgoing)
        return offer_id

    async def expire_due(self, now: datetime) -> int:
        """The periodic job: close lapsed offers and pass each slot on (or let it go)."""
        outgoing: list[Outgoing] = []
        closed = 0
        async with self.uow() as uow:
            await self._finish_stale_claims(uow, now)
            for offer in await uow.offers.due(now, _BATCH):
                await uow.offers.set_status(offer.id, {"made"}, "expired", now)
                closed += 1
                entry = await uow.entries.move(
                    offer.entry_id, {Status.OFFERED}, Status.WAITING, now
                )
                if entry is not None:
                    facts = slot_facts(offer)
                    uow.publish(waitlist_event("offer_expired", entry, now, **facts))
                slot = slot_of(offer)
                await self._offer_or_let_go(uow, offer.hold_id, slot, None, now, outgoing)
            await uow.commit()
        await self.mail.send(outgoing)
        return closed

    async def view(self, token: str) -> OfferView:
        found = checked(token, "offer")
        now = self.clock.now()
        async with self.uow() as uow:
            by_token = await uow.offers.by_token(found)
            offer = await opened(uow.entries, by_token, "offer", "made", now)
            await uow.commit()
        service = self.catalog.services.get(offer.service)
        return OfferView(
            service=offer.service,
            service_name=service.name if service else offer.service,
            status=effective(offer.status, offer.expires_at, now),
            expires_at=offer.expires_at,
            visit_type=offer.visit_type,
            duration=offer.duration_min,
            practitioner=offer.practitioner,
            start=offer.start_at,
            booking_id=offer.booking_id,
        )

    async def claim(self, actor: Actor, token: str) -> Claimed:
        found = checked(token, "offer")
        now = self.clock.now()
        async with self.uow() as uow:
            offer = await uow.offers.by_token(found, lock=True)
            if offer is None:
                raise no_such_link("offer")
            link = Link.of_offer(offer)
            entry = await self.claims.holder(uow, link, now)
            details = await self.claims.claiming(uow, actor, link, entry, now)
            await uow.commit()
        booked = await self.claims.book(actor, link, slot_of(offer), details, offer.hold_id, now)
        return Claimed(offer.service, Status.BOOKED.value, booked)

    async def _offer_or_let_go(
        self,
        uow: WaitlistUnitOfWork,
        hold_id: str,
        slot: Slot,
        cancelled_patient: str | None,
        now: datetime,
        outgoing: list[Outgoing],
    ) -> str | None:
        """Offer the held slot to the first suitable entry: the offer's id. When too little
        time is left to claim it, the hold lapsed or went, or nobody suits, the hold is
        released: None."""
        expires_at = now + self.timing.offer_window
        if slot.start - now >= self.timing.offer_window and await uow.booking.extend_hold(
            hold_id, expires_at + self.timing.hold_slack, now
        ):
            for entry_id in await self._suitable(uow, slot, hold_id, cancelled_patient, now):
                entry = await uow.entries.move(entry_id, {Status.WAITING}, Status.OFFERED, now)
                if entry is None:
                    continue
                token, hashed = new_token()
                offer = new_offer(entry_id, hold_id, slot, hashed, now, expires_at)
                await uow.offers.add(offer)
                await uow.entries.stamp(entry_id, "notified", now)
                uow.publish(waitlist_event("offer_made", entry, now, **slot_facts(offer)))
                outgoing.append(self.mail.offer(entry, token, offer))
                return offer.id
        await uow.booking.release_hold(hold_id, now)
        return None

    async def _suitable(
        self,
        uow: WaitlistUnitOfWork,
        slot: Slot,
        hold_id: str,
        cancelled_patient: str | None,
        now: datetime,
    ) -> list[str]:
        """Entry ids the slot suits, best-ranked first."""
        practitioner = slot.practitioner or ""
        found = await uow.offers.candidates(slot.service, practitioner, hold_id, cancelled_patient)
        tz = self.catalog.clinic.tz
        start = slot.start.astimezone(tz)
        end = start + minutes(slot.duration)
        fit = [
            c.id
            for c in found
            if suits(c.preferred_practitioner, c.preferred_times or [], practitioner, start, end)
        ]
        if not fit:
            return []
        return ranked_first(fit, await standings(uow.entries, slot.service, now, self.policy))

    async def _finish_stale_claims(self, uow: WaitlistUnitOfWork, now: datetime) -> None:
        """Claims a stopped process left mid-way: booked → recorded; otherwise reopened."""
        for offer in await uow.offers.stale_claims(now - self.timing.hold_slack, _BATCH):
            state = await uow.booking.status_of(offer.hold_id)
            if state is None or state.status != "confirmed":
                await uow.offers.set_status(offer.id, {"claiming"}, "made", now)
                continue
            await uow.offers.set_claimed(offer.id, {"claiming"}, offer.hold_id, now)
            booked = Recovered(offer, state.patient_id)
            await record_booked(uow, offer.entry_id, {Status.OFFERED}, booked, "offer", now)
