"""Conversion: an entry becomes a patient with a booking — by a claim (an invitation's or an
offer's link), or by hand (front desk, admin) — and a paid visit marks it converted.

What every way off the list into a visit shares lives here: the person's details for
booking (decrypted, audited), and the record of the booking on the entry (booked, the stage
stamped, a `waitlist.converted` event saying how). A claim runs in three short units of
work, so booking's own use case (its own transaction, its own checks) can sit in the
middle: (1) lock the link and mark it `claiming` — a second claim of the same link now
waits for this one and then gets 409; (2) book through booking; (3) record the booking on
the entry. If (2) fails, the link goes back to open; if the process stops between (2) and
(3), the jobs finish or reopen the claim once it is stale.

`convert` books the slot staff chose for the entry's person (booking matches an existing
patient by email or phone, or creates one from the entry's details), then records it like
a claim would (via "staff"). An open invitation or offer the entry held closes (an offered
slot is let go, unless it is the one being booked: then that hold is confirmed).

`paid` is the payments side: when a payment covers the booking an entry converted into, the
entry's `paid` stage is stamped and it becomes `converted` (`waitlist.paid`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.conversions.ports import LinkStatuses
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.entry import Entry, Placement
from clinicflow.waitlist.domain.links import Invitation, Offer, effective
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.slots import ClaimAsk, Slot, same_slot
from clinicflow.waitlist.domain.slots import slot_for as slot_asked
from clinicflow.waitlist.domain.states import QUEUED, Status
from clinicflow.waitlist.entries.views import EntryView
from clinicflow.waitlist.errors import EntryClosed, LinkClosed, invalid, link_closed, missing
from clinicflow.waitlist.events import waitlist_event
from clinicflow.waitlist.guard import WaitlistCipher, WaitlistGuard, access
from clinicflow.waitlist.links.service import clicked, standing_of
from clinicflow.waitlist.ports import Booked, BookingDesk, WaitlistUnitOfWork

_QUEUED = {s.value for s in QUEUED}


def slot_for(catalog: Catalog, service_key: str, ask: ClaimAsk) -> Slot:
    slot, found = slot_asked(catalog.services[service_key], ask)
    if slot is None:
        raise invalid(found)
    return slot


def booking_actor(actor: Actor) -> Actor:
    """Who books a claim: the caller, but never as a signed-in patient booking for
    themselves — the link's entry decides who the visit is for."""
    if actor.patient_id is None:
        return actor
    return replace(actor, patient_id=None)


def details_for_booking(
    uow: WaitlistUnitOfWork,
    guard: WaitlistGuard,
    cipher: WaitlistCipher,
    actor: Actor,
    entry: Entry,
    action: str,
    now: datetime,
) -> PatientDetails:
    """The details booking matches or creates the patient from: decrypted, so audited."""
    if entry.erased:
        raise LinkClosed("this entry's details were erased, so it cannot book; join again")
    guard.audit(uow, actor, action, [access(entry)], now)
    return PatientDetails(
        first_name=cipher.open(entry.first_name_enc, "first_name", entry.id) or "",
        last_name=cipher.open(entry.last_name_enc, "last_name", entry.id) or "",
        email=cipher.open(entry.email_enc, "email", entry.id),
        phone=cipher.open(entry.phone_enc, "phone", entry.id),
    )


async def record_booked(
    uow: WaitlistUnitOfWork,
    entry_id: str,
    from_: Collection[str],
    booked: Booked,
    via: str,
    now: datetime,
) -> Entry | None:
    """The entry moved to booked with its patient and booking, or None if it had left
    `from_` meanwhile (withdrawn …)."""
    entry = await uow.entries.place(entry_id, from_, Placement(booked.id, booked.patient_id), now)
    if entry is None:
        return None
    await uow.entries.stamp(entry_id, "booked", now)
    uow.publish(
        waitlist_event(
            "converted",
            entry,
            now,
            via=via,
            booking_id=booked.id,
            patient_id=booked.patient_id,
            start=booked.start.isoformat(),
        )
    )
    return await uow.entries.get(entry_id)


@dataclass(frozen=True, slots=True)
class Link:
    """A private link that books (an invitation, an offer), as a claim sees it."""

    kind: str  # invitation | offer: also how the booking came (`waitlist.converted`'s via)
    id: str
    entry_id: str
    status: str
    expires_at: datetime
    open: str  # its status while open: sent | made
    holding: Status  # its entry's status while it is open: invited | offered

    @classmethod
    def of_invitation(cls, inv: Invitation) -> Link:
        return cls(
            "invitation", inv.id, inv.entry_id, inv.status, inv.expires_at, "sent", Status.INVITED
        )

    @classmethod
    def of_offer(cls, o: Offer) -> Link:
        return cls("offer", o.id, o.entry_id, o.status, o.expires_at, "made", Status.OFFERED)

    def statuses(self, uow: WaitlistUnitOfWork) -> LinkStatuses:
        return uow.invitations if self.kind == "invitation" else uow.offers


@dataclass(kw_only=True, eq=False)
class Claims:
    """The steps of a claim (this module's docstring), shared by invitations and offers."""

    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    cipher: WaitlistCipher
    guard: WaitlistGuard
    desk: BookingDesk

    @staticmethod
    async def holder(uow: WaitlistUnitOfWork, link: Link, now: datetime) -> Entry:
        """The entry of a link (locked in the caller's unit of work, as the link is) that
        can still book: the link open and in time, its entry still holding it."""
        state = effective(link.status, link.expires_at, now)
        if state != link.open:
            raise link_closed(link.kind, state)
        entry = await uow.entries.get(link.entry_id, lock=True)
        if entry is None or entry.status != link.holding:
            raise link_closed(link.kind, "withdrawn")
        return entry

    async def claiming(
        self, uow: WaitlistUnitOfWork, actor: Actor, link: Link, entry: Entry, now: datetime
    ) -> PatientDetails:
        """Step 1, in the caller's unit of work: the link marked claiming (a second claim
        now waits for this one, then finds it closed), the look counted; the details."""
        details = details_for_booking(uow, self.guard, self.cipher, actor, entry, "claim", now)
        await link.statuses(uow).set_status(link.id, {link.open}, "claiming", now)
        await clicked(uow.entries, link.entry_id, f"{link.kind}:{link.id}", now)
        return details

    async def book(
        self,
        actor: Actor,
        link: Link,
        slot: Slot,
        details: PatientDetails,
        hold_id: str | None,
        now: datetime,
    ) -> Booked:
        """Steps 2 and 3: booked through booking (refused: the link is open again), then
        recorded on the link and the entry."""
        try:
            booked = await self.desk.book(booking_actor(actor), slot, details, hold_id)
        except BaseException:
            async with self.uow() as uow:
                await link.statuses(uow).set_status(link.id, {"claiming"}, link.open, now)
                await uow.commit()
            raise
        done = self.clock.now()
        async with self.uow() as uow:
            await link.statuses(uow).set_claimed(link.id, {"claiming"}, booked.id, done)
            await record_booked(uow, link.entry_id, {link.holding}, booked, link.kind, done)
            await uow.commit()
        return booked


@dataclass(kw_only=True, eq=False)
class ConversionService:
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    catalog: Catalog
    cipher: WaitlistCipher
    guard: WaitlistGuard
    desk: BookingDesk
    policy: WaitlistPolicy

    async def convert(self, actor: Actor, entry_id: str, ask: ClaimAsk) -> tuple[EntryView, Booked]:
        await self.guard.require(actor, Need.CONVERT, entry_id)
        async with self.uow() as uow:
            entry = await uow.entries.get(entry_id, lock=True)
            if entry is None:
                raise missing(entry_id)
            _refuse_left(entry)
            slot = slot_for(self.catalog, entry.service, ask)
            now = self.clock.now()
            details = details_for_booking(
                uow, self.guard, self.cipher, actor, entry, "convert", now
            )
            live_offers = await uow.offers.live_of(entry_id)
            await uow.commit()
        hold_id = next((o.hold_id for o in live_offers if same_slot(o, slot)), None)
        booked = await self.desk.book(actor, slot, details, hold_id)
        now = self.clock.now()
        async with self.uow() as uow:
            await self._close_links(uow, entry_id, hold_id, booked.id, now)
            done = await record_booked(uow, entry_id, _QUEUED, booked, "staff", now)
            standing = None if done is None else await standing_of(
                uow.entries, done, now, self.policy
            )  # fmt: skip
            await uow.commit()
        if done is None or standing is None:  # booked or withdrew meanwhile: undo the visit
            await self.desk.cancel(actor, booked.id, "waitlist entry left the list meanwhile")
            raise EntryClosed(
                "this entry left the waitlist while booking (booked or withdrawn); the visit "
                "just made was cancelled again",
                entry_status="closed",
            )
        return EntryView.of(done, standing, self.cipher), booked

    async def paid(self, subscriber: str, event_id: str, booking_ids: Sequence[str]) -> int:
        """Once per event (`subscriber`'s inbox): stamp `paid` on the entries those bookings
        converted; how many changed."""
        async with self.uow() as uow:
            if not await uow.inbox.mark(subscriber, event_id, self.clock):
                return 0  # handled before
            now = self.clock.now()
            changed = 0
            for entry_id in await uow.entries.converted_by(booking_ids):
                if not await uow.entries.stamp(entry_id, "paid", now):
                    continue
                changed += 1
                moved = await uow.entries.move(entry_id, {Status.BOOKED}, Status.CONVERTED, now)
                entry = moved or await uow.entries.get(entry_id)
                if entry is not None:
                    uow.publish(waitlist_event("paid", entry, now, booking_id=entry.booking_id))
            await uow.commit()
        return changed

    async def _close_links(
        self,
        uow: WaitlistUnitOfWork,
        entry_id: str,
        kept_hold: str | None,
        booking_id: str,
        now: datetime,
    ) -> None:
        """The entry's open invitations are withdrawn; its open offers too, their slots let
        go — but the one whose hold this booking confirmed is claimed."""
        for inv in await uow.invitations.live_of(entry_id):
            await uow.invitations.set_status(inv.id, {"sent"}, "withdrawn", now)
        for offer in await uow.offers.live_of(entry_id):
            if offer.hold_id == kept_hold:
                await uow.offers.set_claimed(offer.id, {"made"}, booking_id, now)
            elif await uow.offers.set_status(offer.id, {"made"}, "withdrawn", now):
                await uow.booking.release_hold(offer.hold_id, now)


def _refuse_left(entry: Entry) -> None:
    if entry.status not in _QUEUED:
        raise EntryClosed(
            f"this entry is {entry.status} and has left the waitlist, so it cannot be converted",
            entry_status=entry.status,
        )
