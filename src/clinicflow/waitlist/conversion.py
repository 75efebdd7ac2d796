"""Conversion: an entry becomes a patient with a booking, by hand (front desk, admin), and
a paid visit marks it converted.

`convert` books the slot staff chose through booking's own use case, for the entry's person
(booking matches an existing patient by email or phone, or creates one from the entry's
details), then records it on the entry like a claim would: booked, the stage stamped, a
`waitlist.converted` event (via "staff"). An open invitation or offer the entry held closes
(an offered slot is let go, unless it is the one being booked: then that hold is confirmed).

`paid` is the payments side: when a payment covers the booking an entry converted into, the
entry's `paid` stage is stamped and it becomes `converted` (`waitlist.paid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import record
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import links_repo as links
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.cipher import WaitlistCipher
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.states import QUEUED, Status
from clinicflow.waitlist.errors import EntryClosed, EntryNotFound
from clinicflow.waitlist.events import waitlist_event
from clinicflow.waitlist.guard import WaitlistGuard
from clinicflow.waitlist.invitations import ClaimAsk, Invitations
from clinicflow.waitlist.offers import Offers
from clinicflow.waitlist.placing import details_for_booking, record_booked
from clinicflow.waitlist.ports import Booked, BookingDesk, Slot
from clinicflow.waitlist.queries import standing_of
from clinicflow.waitlist.tables import entries, invitations, offers
from clinicflow.waitlist.views import EntryView

_QUEUED = {s.value for s in QUEUED}


class Conversions:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        cipher: WaitlistCipher,
        guard: WaitlistGuard,
        desk: BookingDesk,
        policy: WaitlistPolicy,
        invitations_: Invitations,
        offers_: Offers,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._cipher = cipher
        self._guard = guard
        self._desk = desk
        self._policy = policy
        self._invitations = invitations_
        self._offers = offers_

    async def convert(self, actor: Actor, entry_id: str, ask: ClaimAsk) -> tuple[EntryView, Booked]:
        await self._guard.require(actor, Need.CONVERT, entry_id)
        async with self._db.write() as conn:
            row = await links.entry(conn, entry_id, lock=True)
            if row is None:
                raise EntryNotFound(f"no waitlist entry {entry_id!r}")
            _refuse_left(row)
            slot = self._invitations.slot_for(row.service, ask)
            details = await details_for_booking(
                conn, self._guard, self._cipher, actor, row, "convert"
            )
            _, live_offers = await links.live_links_of(conn, entry_id)
        hold_id = next((o.hold_id for o in live_offers if _same_slot(o, slot)), None)
        booked = await self._desk.book(actor, slot, details, hold_id)
        now = self._clock.now()
        async with self._db.write() as conn:
            await self._close_links(conn, entry_id, hold_id, booked.id, now)
            done = await record_booked(conn, entry_id, _QUEUED, booked, "staff", now)
            standing = None if done is None else await standing_of(conn, done, now, self._policy)
        if done is None or standing is None:  # booked or withdrew meanwhile: undo the visit
            await self._desk.cancel(actor, booked.id, "waitlist entry left the list meanwhile")
            raise EntryClosed(
                "this entry left the waitlist while booking (booked or withdrawn); the visit "
                "just made was cancelled again",
                entry_status="closed",
            )
        return EntryView.of(done, standing, self._cipher), booked

    async def paid(self, conn: AsyncConnection, booking_ids: Sequence[str], now: datetime) -> int:
        """Stamp `paid` on the entries those bookings converted; how many changed."""
        if not booking_ids:
            return 0
        found = await conn.execute(
            select(entries.c.id).where(entries.c.booking_id.in_(list(booking_ids)))
        )
        changed = 0
        for entry_id in found.scalars():
            if not await repo.stamp(conn, entry_id, "paid", now):
                continue
            changed += 1
            row = await links.move(conn, entry_id, {Status.BOOKED}, Status.CONVERTED, now)
            row = row or await links.entry(conn, entry_id)
            if row is not None:
                await record(conn, waitlist_event("paid", row, now, booking_id=row.booking_id))
        return changed

    async def _close_links(
        self, conn: AsyncConnection, entry_id: str, kept_hold: str | None, booking_id: str,
        now: datetime,
    ) -> None:  # fmt: skip
        live_invitations, live_offers = await links.live_links_of(conn, entry_id)
        for inv in live_invitations:
            await links.set_status(conn, invitations, inv.id, {"sent"}, "withdrawn", now)
        for offer in live_offers:
            if offer.hold_id == kept_hold:
                await links.set_status(
                    conn, offers, offer.id, {"made"}, "claimed", now, booking_id=booking_id
                )
        await self._offers.withdraw_for(conn, entry_id, now)


def _same_slot(offer: Any, slot: Slot) -> bool:
    return bool(
        offer.start_at == slot.start
        and offer.visit_type == slot.visit_type
        and offer.duration_min == slot.duration
        and slot.practitioner in (None, offer.practitioner)
    )


def _refuse_left(row: Any) -> None:
    if row.status not in _QUEUED:
        raise EntryClosed(
            f"this entry is {row.status} and has left the waitlist, so it cannot be converted",
            entry_status=row.status,
        )
