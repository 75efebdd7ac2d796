"""Launching a service and inviting its waitlist in waves sized to capacity.

A launch is refused while the catalog lacks what booking needs (durations, prices, a
practitioner), naming each item. Once launched, booking treats the service as bookable and
`service.launched` is published. Then the first wave goes: as many of the waiting entries,
in priority order, as there are initial-visit places in the next `wave_weeks` weeks; each
gets a private booking link open for `invitation_hours`. The next wave goes when none of
the previous wave's links can still book (all booked or lapsed): after each claim, and from
the periodic job, which also closes lapsed links (the entry goes back to waiting).
A wave goes down the list once: an entry whose invitation lapsed is not invited again by a
later wave (it stays on the list, for freed-slot offers and nurture).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from clinicflow.catalog import Catalog, Service
from clinicflow.infra.audit_trail import Access
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import record
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import checks
from clinicflow.waitlist import links_repo as links
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.domain.waves import OpenSlot, capacity, wave_size
from clinicflow.waitlist.errors import AlreadyLive, ServiceNotReady, invalid
from clinicflow.waitlist.events import service_launched, waitlist_event
from clinicflow.waitlist.guard import WaitlistGuard
from clinicflow.waitlist.messages import LinkMail, Outgoing
from clinicflow.waitlist.ports import BookingDesk
from clinicflow.waitlist.queries import standings
from clinicflow.waitlist.tables import invitations

INITIAL = "initial"
_BATCH = 200


@dataclass(frozen=True, slots=True)
class Wave:
    service: str
    number: int
    capacity: int
    invited: int


@dataclass(frozen=True, slots=True)
class Launched:
    service: str
    launched_at: datetime
    wave: Wave | None


def launch_problems(service: Service) -> list[tuple[str, str]]:
    """(item, what to change) for everything booking would still refuse once launched."""
    key = service.key
    if not service.visit_types:
        return [
            ("durations", f"no visit durations are configured; add `durations:` (initial, "
             f"followup …) under services.{key} in the clinic's YAML"),
            ("pricing", f"no prices are configured; add `pricing:` under services.{key}"),
        ]  # fmt: skip
    found = [("catalog", reason) for reason in replace(service, active=True).reasons]
    if INITIAL not in service.visit_types:
        found.append(("durations", f"add an `{INITIAL}` visit type: launch waves invite "
                      "people to their first visit"))  # fmt: skip
    return found


class Launcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        guard: WaitlistGuard,
        desk: BookingDesk,
        policy: WaitlistPolicy,
        timing: Timing,
        mail: LinkMail,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._guard = guard
        self._desk = desk
        self._policy = policy
        self._timing = timing
        self._mail = mail

    async def launch(self, actor: Actor, key: str) -> Launched:
        await self._guard.require(actor, Need.LAUNCH)
        service = self._catalog.services.get(key)
        if service is None:
            known = ", ".join(self._catalog.services)
            raise invalid([("service", f"no service {key!r}; choose one of {known}")])
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
        now = self._clock.now()
        async with self._db.write() as conn:
            if not await self._desk.launch(conn, key, now, actor.id):
                raise AlreadyLive(f"{service.name} was launched before; it is bookable")
            await record(conn, service_launched(key, now, actor.id))
            await self._guard.trail.record(conn, actor, "launch", [Access("service", key)])
        self._desk.launched_here()
        return Launched(key, now, await self.next_wave(key))

    async def next_wave(self, key: str) -> Wave | None:
        """Send the next wave of `key` if it is launched and no invitation can still book."""
        now = self._clock.now()
        async with self._db.read() as conn:
            if key not in await self._desk.launched(conn):
                return None
            if await links.live_invitations(conn, key, now):
                return None
            if not await links.never_invited(conn, key):
                return None
        places = await self._capacity(key, now)
        if places == 0:
            return None
        outgoing: list[Outgoing] = []
        try:
            async with self._db.write() as conn:
                wave = await self._invite(conn, key, places, now, outgoing)
        except IntegrityError:
            return None  # another process sent this wave first
        await self._mail.send(outgoing)
        return wave

    async def run_due(self, now: datetime) -> int:
        """The periodic job: close lapsed links, then send every wave that is due."""
        done = await self._close_lapsed(now)
        async with self._db.read() as conn:
            launched = await self._desk.launched(conn)
        for key in (k for k in self._catalog.services if k in launched):
            wave = await self.next_wave(key)
            done += wave.invited if wave else 0
        return done

    async def _capacity(self, key: str, now: datetime) -> int:
        service = self._catalog.services[key]
        durations = service.visit_types[INITIAL].durations or ()
        if not durations:
            return 0
        horizon = now + timedelta(weeks=self._timing.wave_weeks)
        found = await self._desk.free_slots(key, INITIAL, min(durations), now, horizon)
        gap = service.policy.buffer_after_min + service.policy.buffer_before_min
        return capacity((OpenSlot(s.start, s.end, tuple(s.practitioners)) for s in found), gap)

    async def _invite(
        self, conn: Any, key: str, places: int, now: datetime, outgoing: list[Outgoing]
    ) -> Wave | None:
        if await links.live_invitations(conn, key, now):
            return None  # checked again inside the write: a claim may have reopened one
        candidates = await links.never_invited(conn, key)
        stand = await standings(conn, key, now, self._policy)
        ordered = sorted(candidates, key=lambda i: stand[i].position or 0)
        chosen = ordered[: wave_size(places, len(ordered))]
        if not chosen:
            return None
        number = await links.last_wave(conn, key) + 1
        await links.add_wave(conn, key, number, now, places, len(chosen))
        expires_at = now + self._timing.invitation_window
        for entry_id in chosen:
            row = await links.move(conn, entry_id, {Status.WAITING}, Status.INVITED, now)
            if row is None:
                continue
            token, token_hash = checks.new_token()
            invitation_id = await links.add_invitation(
                conn, entry_id, key, number, token_hash, now, expires_at
            )
            await repo.stamp(conn, entry_id, "notified", now)
            await record(
                conn,
                waitlist_event(
                    "invited",
                    row,
                    now,
                    invitation_id=invitation_id,
                    wave=number,
                    expires_at=expires_at.isoformat(),
                ),
            )
            outgoing.append(self._mail.invitation(row, token, expires_at))
        return Wave(key, number, places, len(chosen))

    async def _close_lapsed(self, now: datetime) -> int:
        closed = 0
        async with self._db.write() as conn:
            stale = now - self._timing.hold_slack
            for row in await links.stale_claims(conn, invitations, stale, _BATCH):
                # A claim that never finished: open again (or lapse, below, if past its time).
                await links.set_status(conn, invitations, row.id, {"claiming"}, "sent", now)
            for inv in await links.lapsed_invitations(conn, now, _BATCH):
                if await links.set_status(conn, invitations, inv.id, {"sent"}, "expired", now):
                    closed += 1
                    entry = await links.move(
                        conn, inv.entry_id, {Status.INVITED}, Status.WAITING, now
                    )
                    if entry is not None:
                        await record(
                            conn,
                            waitlist_event("invitation_expired", entry, now, invitation_id=inv.id),
                        )
        return closed
