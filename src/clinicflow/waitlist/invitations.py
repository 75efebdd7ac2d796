"""A launch invitation from the person's side: see the open first-visit slots, and book one.

Holding the link is the permission, as for the entry's own token; the view shows the
service, the link's state and the open slots (no PHI, nothing about the entry). The first
view stamps `clicked`; a claim books through booking's own use case for the entry's person
(matched to a patient, or created) and stamps `booked`. One link books once (see
`waitlist.placing` for how two claims at the same moment end with one booking).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import links_repo as links
from clinicflow.waitlist.cipher import WaitlistCipher
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.errors import invalid, no_such_link
from clinicflow.waitlist.guard import WaitlistGuard
from clinicflow.waitlist.launching import INITIAL, Launcher
from clinicflow.waitlist.link_rules import checked, clicked, closed, effective
from clinicflow.waitlist.placing import booking_actor, details_for_booking, record_booked
from clinicflow.waitlist.ports import Booked, BookingDesk, FreeSlot, Slot
from clinicflow.waitlist.tables import invitations

SHOWN_DAYS = 7  # the view lists this many days of slots unless asked for a range


@dataclass(frozen=True, slots=True)
class ClaimAsk:
    start: datetime
    duration: int | None = None  # None: the visit type's shortest
    visit_type: str = INITIAL
    practitioner: str | None = None


@dataclass(frozen=True, slots=True)
class InvitationView:
    service: str
    service_name: str
    status: str  # sent (open) | claiming | claimed | expired | withdrawn
    expires_at: datetime
    durations: dict[str, list[int]]  # visit type → allowed lengths
    slots: list[FreeSlot]
    booking_id: str | None


@dataclass(frozen=True, slots=True)
class Claimed:
    service: str
    status: str  # the entry's: booked
    booking: Booked


class Invitations:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        cipher: WaitlistCipher,
        guard: WaitlistGuard,
        desk: BookingDesk,
        launcher: Launcher,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._cipher = cipher
        self._guard = guard
        self._desk = desk
        self._launcher = launcher

    async def view(
        self, token: str, lo: datetime | None = None, hi: datetime | None = None
    ) -> InvitationView:
        found = checked(token, "invitation")
        now = self._clock.now()
        async with self._db.write() as conn:
            inv = await links.by_token(conn, invitations, found)
            if inv is None:
                raise no_such_link("invitation")
            if inv.status == "sent" and inv.expires_at > now:
                await clicked(conn, inv.entry_id, f"invitation:{inv.id}", now)
        status = effective(inv, now)
        service = self._catalog.services[inv.service]
        slots: list[FreeSlot] = []
        if status == "sent":
            lo = lo or now
            hi = hi or lo + timedelta(days=SHOWN_DAYS)
            durations = service.visit_types[INITIAL].durations or ()
            slots = list(await self._desk.free_slots(inv.service, INITIAL, min(durations), lo, hi))
        return InvitationView(
            service=inv.service,
            service_name=service.name,
            status=status,
            expires_at=inv.expires_at,
            durations={k: list(v.durations or ()) for k, v in service.visit_types.items()},
            slots=slots,
            booking_id=inv.booking_id,
        )

    async def claim(self, actor: Actor, token: str, ask: ClaimAsk) -> Claimed:
        found = checked(token, "invitation")
        now = self._clock.now()
        async with self._db.write() as conn:
            inv = await links.by_token(conn, invitations, found, lock=True)
            if inv is None:
                raise no_such_link("invitation")
            if effective(inv, now) != "sent":
                raise closed("invitation", effective(inv, now))
            entry = await links.entry(conn, inv.entry_id, lock=True)
            if entry is None or entry.status != Status.INVITED:
                raise closed("invitation", "withdrawn")
            slot = self.slot_for(inv.service, ask)
            details = await details_for_booking(
                conn, self._guard, self._cipher, actor, entry, "claim"
            )
            await links.set_status(conn, invitations, inv.id, {"sent"}, "claiming", now)
            await clicked(conn, inv.entry_id, f"invitation:{inv.id}", now)
        try:
            booked = await self._desk.book(booking_actor(actor), slot, details, None)
        except BaseException:
            async with self._db.write() as conn:  # the link is open again for another slot
                await links.set_status(conn, invitations, inv.id, {"claiming"}, "sent", now)
            raise
        done = self._clock.now()
        async with self._db.write() as conn:
            await links.set_status(
                conn, invitations, inv.id, {"claiming"}, "claimed", done, booking_id=booked.id
            )
            await record_booked(conn, inv.entry_id, {Status.INVITED}, booked, "invitation", done)
        await self._launcher.next_wave(inv.service)  # this booking may have closed the wave
        return Claimed(inv.service, Status.BOOKED.value, booked)

    def slot_for(self, service_key: str, ask: ClaimAsk) -> Slot:
        service = self._catalog.services[service_key]
        vt = service.visit_types.get(ask.visit_type)
        if vt is None:
            known = ", ".join(service.visit_types)
            raise invalid([("visit_type", f"{service.name} has no {ask.visit_type!r} visit; "
                            f"choose one of {known}")])  # fmt: skip
        duration = ask.duration or min(vt.durations or (0,))
        return Slot(service_key, ask.visit_type, duration, ask.start, ask.practitioner)
