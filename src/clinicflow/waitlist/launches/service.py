"""Launching a service and inviting its waitlist in waves sized to capacity; and a launch
invitation from the person's side: see the open first-visit slots, and book one.

A launch is refused while the catalog lacks what booking needs (durations, prices, a
practitioner), naming each item. Once launched, booking treats the service as bookable and
`service.launched` is published. Then the first wave goes: as many of the waiting entries,
in priority order, as there are initial-visit places in the next `wave_weeks` weeks; each
gets a private booking link open for `invitation_hours`. The next wave goes when none of
the previous wave's links can still book (all booked or lapsed): after each claim, and from
the periodic job, which also closes lapsed links (the entry goes back to waiting).
A wave goes down the list once: an entry whose invitation lapsed is not invited again by a
later wave (it stays on the list, for freed-slot offers and nurture).

Holding an invitation's link is the permission, as for the entry's own token; its view
shows the service, the link's state and the open slots (no PHI, nothing about the entry).
The first view stamps `clicked`; a claim books through booking's own use case for the
entry's person (matched to a patient, or created) and stamps `booked`. One link books once
(see `waitlist.conversions` for how two claims at the same moment end with one booking).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.catalog import Catalog
from clinicflow.infra.audit_trail import Access
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.conversions.service import Claims, Link, slot_for
from clinicflow.waitlist.conversions.views import Claimed
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.choices import unknown_service
from clinicflow.waitlist.domain.links import effective, new_invitation, new_token
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.slots import INITIAL, ClaimAsk, Slot
from clinicflow.waitlist.domain.standing import ranked_first
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.domain.waves import OpenSlot, capacity, launch_problems, wave_size
from clinicflow.waitlist.errors import AlreadyLive, ServiceNotReady, invalid, no_such_link
from clinicflow.waitlist.events import service_launched, waitlist_event
from clinicflow.waitlist.guard import WaitlistGuard
from clinicflow.waitlist.launches.ports import WaveAlreadySent
from clinicflow.waitlist.launches.views import InvitationView, Launched, Wave
from clinicflow.waitlist.links.service import checked, opened, standings
from clinicflow.waitlist.messages.service import LinkMail, Outgoing
from clinicflow.waitlist.ports import BookingDesk, FreeSlot, WaitlistUnitOfWork

SHOWN_DAYS = 7  # an invitation's view lists this many days of slots unless asked for a range
_BATCH = 200


@dataclass(kw_only=True, eq=False)
class Launcher:
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    catalog: Catalog
    guard: WaitlistGuard
    desk: BookingDesk
    policy: WaitlistPolicy
    timing: Timing
    mail: LinkMail

    async def launch(self, actor: Actor, key: str) -> Launched:
        await self.guard.require(actor, Need.LAUNCH)
        service = self.catalog.services.get(key)
        if service is None:
            raise invalid([unknown_service(self.catalog, key)])
        if service.launched:
            raise AlreadyLive(f"{service.name} was launched before; it is bookable")
        if service.active:
            raise AlreadyLive(f"{service.name} is already bookable (active in the catalog)")
        found = launch_problems(service)
        if found:
            raise ServiceNotReady(
                f"{service.name} cannot launch yet: " + "; ".join(m for _, m in found),
                errors=[{"item": item, "message": m} for item, m in found],
            )
        now = self.clock.now()
        async with self.uow() as uow:
            if not await uow.booking.launch(key, now, actor.id):
                raise AlreadyLive(f"{service.name} was launched before; it is bookable")
            uow.publish(service_launched(key, now, actor.id))
            self.guard.audit(uow, actor, "launch", [Access("service", key)], now)
            await uow.commit()
        self.desk.launched_here()
        return Launched(key, now, await self.next_wave(key))

    async def next_wave(self, key: str) -> Wave | None:
        """Send the next wave of `key` if it is launched and no invitation can still book."""
        now = self.clock.now()
        async with self.uow.reading() as uow:
            if key not in await uow.booking.launched():
                return None
            if await uow.invitations.live_count(key, now):
                return None
            if not await uow.invitations.never_invited(key):
                return None
        places = await self._capacity(key, now)
        if places == 0:
            return None
        outgoing: list[Outgoing] = []
        try:
            async with self.uow() as uow:
                wave = await self._invite(uow, key, places, now, outgoing)
                await uow.commit()
        except WaveAlreadySent:
            return None  # another process sent this wave first
        await self.mail.send(outgoing)
        return wave

    async def run_due(self, now: datetime) -> int:
        """The periodic job: close lapsed links, then send every wave that is due."""
        done = await self._close_lapsed(now)
        async with self.uow.reading() as uow:
            launched = await uow.booking.launched()
        for key in (k for k in self.catalog.services if k in launched):
            wave = await self.next_wave(key)
            done += wave.invited if wave else 0
        return done

    async def _capacity(self, key: str, now: datetime) -> int:
        service = self.catalog.services[key]
        durations = service.visit_types[INITIAL].durations or ()
        if not durations:
            return 0
        horizon = now + timedelta(weeks=self.timing.wave_weeks)
        found = await self.desk.free_slots(Slot(key, INITIAL, min(durations), now), horizon)
        gap = service.policy.buffer_after_min + service.policy.buffer_before_min
        return capacity((OpenSlot(s.start, s.end, tuple(s.practitioners)) for s in found), gap)

    async def _invite(
        self,
        uow: WaitlistUnitOfWork,
        key: str,
        places: int,
        now: datetime,
        outgoing: list[Outgoing],
    ) -> Wave | None:
        if await uow.invitations.live_count(key, now):
            return None  # checked again inside the write: a claim may have reopened one
        candidates = await uow.invitations.never_invited(key)
        ordered = ranked_first(candidates, await standings(uow.entries, key, now, self.policy))
        chosen = ordered[: wave_size(places, len(ordered))]
        if not chosen:
            return None
        number = await uow.waves.last(key) + 1
        await uow.waves.add(key, number, now, places, len(chosen))
        expires_at = now + self.timing.invitation_window
        for entry_id in chosen:
            entry = await uow.entries.move(entry_id, {Status.WAITING}, Status.INVITED, now)
            if entry is None:
                continue
            token, hashed = new_token()
            invitation = new_invitation(entry_id, key, number, hashed, now, expires_at)
            await uow.invitations.add(invitation)
            await uow.entries.stamp(entry_id, "notified", now)
            uow.publish(
                waitlist_event(
                    "invited",
                    entry,
                    now,
                    invitation_id=invitation.id,
                    wave=number,
                    expires_at=expires_at.isoformat(),
                )
            )
            outgoing.append(self.mail.invitation(entry, token, expires_at))
        return Wave(key, number, places, len(chosen))

    async def _close_lapsed(self, now: datetime) -> int:
        closed = 0
        async with self.uow() as uow:
            invitations = uow.invitations
            for stale in await invitations.stale_claims(now - self.timing.hold_slack, _BATCH):
                # A claim that never finished: open again (or lapse, below, if past its time).
                await invitations.set_status(stale.id, {"claiming"}, "sent", now)
            for inv in await invitations.lapsed(now, _BATCH):
                if await invitations.set_status(inv.id, {"sent"}, "expired", now):
                    closed += 1
                    entry = await uow.entries.move(
                        inv.entry_id, {Status.INVITED}, Status.WAITING, now
                    )
                    if entry is not None:
                        uow.publish(
                            waitlist_event("invitation_expired", entry, now, invitation_id=inv.id)
                        )
            await uow.commit()
        return closed


@dataclass(kw_only=True, eq=False)
class InvitationService:
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    catalog: Catalog
    desk: BookingDesk
    claims: Claims
    launcher: Launcher

    async def view(
        self, token: str, lo: datetime | None = None, hi: datetime | None = None
    ) -> InvitationView:
        found = checked(token, "invitation")
        now = self.clock.now()
        async with self.uow() as uow:
            by_token = await uow.invitations.by_token(found)
            inv = await opened(uow.entries, by_token, "invitation", "sent", now)
            await uow.commit()
        status = effective(inv.status, inv.expires_at, now)
        service = self.catalog.services[inv.service]
        slots: list[FreeSlot] = []
        if status == "sent":
            lo = lo or now
            hi = hi or lo + timedelta(days=SHOWN_DAYS)
            durations = service.visit_types[INITIAL].durations or ()
            first = Slot(inv.service, INITIAL, min(durations), lo)
            slots = list(await self.desk.free_slots(first, hi))
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
        now = self.clock.now()
        async with self.uow() as uow:
            inv = await uow.invitations.by_token(found, lock=True)
            if inv is None:
                raise no_such_link("invitation")
            link = Link.of_invitation(inv)
            entry = await self.claims.holder(uow, link, now)
            slot = slot_for(self.catalog, inv.service, ask)
            details = await self.claims.claiming(uow, actor, link, entry, now)
            await uow.commit()
        booked = await self.claims.book(actor, link, slot, details, None, now)
        await self.launcher.next_wave(inv.service)  # this booking may have closed the wave
        return Claimed(inv.service, Status.BOOKED.value, booked)
