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

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import record
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError
from clinicflow.waitlist import checks
from clinicflow.waitlist import links_repo as links
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.cipher import WaitlistCipher
from clinicflow.waitlist.domain.matching import suits
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.errors import no_such_link
from clinicflow.waitlist.events import slot_facts, waitlist_event
from clinicflow.waitlist.guard import WaitlistGuard
from clinicflow.waitlist.invitations import Claimed
from clinicflow.waitlist.link_rules import checked, clicked, closed, effective
from clinicflow.waitlist.messages import LinkMail, Outgoing
from clinicflow.waitlist.offer_parts import Recovered, minutes, offer_values, slot_of
from clinicflow.waitlist.placing import booking_actor, details_for_booking, record_booked
from clinicflow.waitlist.ports import BookingDesk, Slot
from clinicflow.waitlist.queries import standings
from clinicflow.waitlist.tables import offers

_BATCH = 200


@dataclass(frozen=True, slots=True)
class OfferView:
    service: str
    service_name: str
    status: str
    expires_at: datetime
    visit_type: str
    duration: int
    practitioner: str
    start: datetime
    booking_id: str | None


class Offers:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        cipher: WaitlistCipher,
        guard: WaitlistGuard,
        desk: BookingDesk,
        policy: WaitlistPolicy,
        timing: Timing,
        mail: LinkMail,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._cipher = cipher
        self._guard = guard
        self._desk = desk
        self._policy = policy
        self._timing = timing
        self._mail = mail

    async def slot_freed(self, slot: Slot, cancelled_patient: str | None) -> str | None:
        """Offer a freed slot; the offer id, or None when nobody suits or it is gone."""
        now = self._clock.now()
        if slot.start - now < self._timing.offer_window:
            return None  # no time left for anyone to claim it
        async with self._db.read() as conn:
            if not await self._suitable(conn, slot, "", cancelled_patient, now):
                return None
        try:
            hold = await self._desk.hold(slot)
        except DomainError:
            return None  # booked again meanwhile, or too close to its start
        outgoing: list[Outgoing] = []
        async with self._db.write() as conn:
            offer_id = await self._offer(conn, hold.id, slot, cancelled_patient, now, outgoing)
            if offer_id is None:
                await self._desk.release_hold(conn, hold.id, now)
        await self._mail.send(outgoing)
        return offer_id

    async def expire_due(self, now: datetime) -> int:
        """The periodic job: close lapsed offers and pass each slot on (or let it go)."""
        outgoing: list[Outgoing] = []
        closed_count = 0
        async with self._db.write() as conn:
            await self._finish_stale_claims(conn, now)
            for offer in await links.due_offers(conn, now, _BATCH):
                await links.set_status(conn, offers, offer.id, {"made"}, "expired", now)
                closed_count += 1
                entry = await links.move(
                    conn, offer.entry_id, {Status.OFFERED}, Status.WAITING, now
                )
                if entry is not None:
                    facts = slot_facts(offer)
                    await record(conn, waitlist_event("offer_expired", entry, now, **facts))
                slot = slot_of(offer)
                passed = None
                if slot.start - now >= self._timing.offer_window:
                    passed = await self._offer(conn, offer.hold_id, slot, None, now, outgoing)
                if passed is None:
                    await self._desk.release_hold(conn, offer.hold_id, now)
        await self._mail.send(outgoing)
        return closed_count

    async def view(self, token: str) -> OfferView:
        found = checked(token, "offer")
        now = self._clock.now()
        async with self._db.write() as conn:
            offer = await links.by_token(conn, offers, found)
            if offer is None:
                raise no_such_link("offer")
            if offer.status == "made" and offer.expires_at > now:
                await clicked(conn, offer.entry_id, f"offer:{offer.id}", now)
        service = self._catalog.services.get(offer.service)
        return OfferView(
            service=offer.service,
            service_name=service.name if service else offer.service,
            status=effective(offer, now),
            expires_at=offer.expires_at,
            visit_type=offer.visit_type,
            duration=offer.duration_min,
            practitioner=offer.practitioner,
            start=offer.start_at,
            booking_id=offer.booking_id,
        )

    async def claim(self, actor: Actor, token: str) -> Claimed:
        found = checked(token, "offer")
        now = self._clock.now()
        async with self._db.write() as conn:
            offer = await links.by_token(conn, offers, found, lock=True)
            if offer is None:
                raise no_such_link("offer")
            if effective(offer, now) != "made":
                raise closed("offer", effective(offer, now))
            entry = await links.entry(conn, offer.entry_id, lock=True)
            if entry is None or entry.status != Status.OFFERED:
                raise closed("offer", "withdrawn")
            details = await details_for_booking(
                conn, self._guard, self._cipher, actor, entry, "claim"
            )
            await links.set_status(conn, offers, offer.id, {"made"}, "claiming", now)
            await clicked(conn, offer.entry_id, f"offer:{offer.id}", now)
        slot = slot_of(offer)
        try:
            booked = await self._desk.book(booking_actor(actor), slot, details, offer.hold_id)
        except BaseException:
            async with self._db.write() as conn:
                await links.set_status(conn, offers, offer.id, {"claiming"}, "made", now)
            raise
        done = self._clock.now()
        async with self._db.write() as conn:
            await links.set_status(
                conn, offers, offer.id, {"claiming"}, "claimed", done, booking_id=booked.id
            )
            await record_booked(conn, offer.entry_id, {Status.OFFERED}, booked, "offer", done)
        return Claimed(offer.service, Status.BOOKED.value, booked)

    async def withdraw_for(self, conn: AsyncConnection, entry_id: str, now: datetime) -> None:
        """The entry left the list another way (a staff conversion): its live offers close
        and their slots are let go."""
        _, live = await links.live_links_of(conn, entry_id)
        for offer in live:
            if await links.set_status(conn, offers, offer.id, {"made"}, "withdrawn", now):
                await self._desk.release_hold(conn, offer.hold_id, now)

    async def _offer(
        self,
        conn: AsyncConnection,
        hold_id: str,
        slot: Slot,
        cancelled_patient: str | None,
        now: datetime,
        outgoing: list[Outgoing],
    ) -> str | None:
        expires_at = now + self._timing.offer_window
        if not await self._desk.extend_hold(
            conn, hold_id, expires_at + self._timing.hold_slack, now
        ):
            return None  # the hold lapsed or went: nothing left to offer
        for entry_id in await self._suitable(conn, slot, hold_id, cancelled_patient, now):
            entry = await links.move(conn, entry_id, {Status.WAITING}, Status.OFFERED, now)
            if entry is None:
                continue
            token, token_hash = checks.new_token()
            offer = await links.add_offer(
                conn, offer_values(entry, hold_id, slot, token_hash, now, expires_at)
            )
            await repo.stamp(conn, entry_id, "notified", now)
            await record(conn, waitlist_event("offer_made", entry, now, **slot_facts(offer)))
            outgoing.append(self._mail.offer(entry, token, offer))
            return str(offer.id)
        return None

    async def _suitable(
        self,
        conn: AsyncConnection,
        slot: Slot,
        hold_id: str,
        cancelled_patient: str | None,
        now: datetime,
    ) -> list[str]:
        """Entry ids the slot suits, best-ranked first."""
        practitioner = slot.practitioner or ""
        rows = await links.offer_candidates(
            conn, slot.service, practitioner, hold_id, cancelled_patient
        )
        tz = self._catalog.clinic.tz
        start = slot.start.astimezone(tz)
        end = start + minutes(slot.duration)
        fit = [
            r.id
            for r in rows
            if suits(r.preferred_practitioner, r.preferred_times or [], practitioner, start, end)
        ]
        if not fit:
            return []
        stand = await standings(conn, slot.service, now, self._policy)
        return sorted(fit, key=lambda i: stand[i].position or 0)

    async def _finish_stale_claims(self, conn: AsyncConnection, now: datetime) -> None:
        """Claims a stopped process left mid-way: booked → recorded; otherwise reopened."""
        for offer in await links.stale_claims(conn, offers, now - self._timing.hold_slack, _BATCH):
            state = await self._desk.status_of(conn, offer.hold_id)
            if state is None or state.status != "confirmed":
                await links.set_status(conn, offers, offer.id, {"claiming"}, "made", now)
                continue
            await links.set_status(
                conn, offers, offer.id, {"claiming"}, "claimed", now, booking_id=offer.hold_id
            )
            booked = Recovered(offer, state.patient_id)
            await record_booked(conn, offer.entry_id, {Status.OFFERED}, booked, "offer", now)
