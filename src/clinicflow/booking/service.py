"""Booking use cases: hold, book, reschedule and the life-cycle actions (`BookingService`),
and reading bookings (`BookingReader`). Availability and who takes a slot are in
availability/service.py.

Each write runs in one unit of work (`BookingUnitOfWork`): it checks the slot against every
committed booking, writes the change, publishes its event and audits it, and commits. On
PostgreSQL contenders for the same practitioner's time first queue on a lock
(domain/locks.py); should a concurrent writer still win the race, the exclusion constraint
refuses our row (`RaceLost`) and the use case runs again, now seeing the winner (so the
caller gets `slot_unavailable`). Concurrent bookings share a transaction
(infra/group_commit.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from clinicflow.booking import errors
from clinicflow.booking.availability.service import Placement
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.access import Need, need_of
from clinicflow.booking.domain.appointment import Appointment
from clinicflow.booking.domain.idempotency import IdempotencyKeys
from clinicflow.booking.domain.lifecycle import Action, Status
from clinicflow.booking.domain.locks import LocalLine, lock_keys
from clinicflow.booking.domain.retries import retrying
from clinicflow.booking.domain.visits import (
    Placed,
    VisitRequest,
    check_action_time,
    eligible,
    resolve,
)
from clinicflow.booking.events import booking_event
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.ports import BookingUnitOfWork, CalendarSource, Launches
from clinicflow.booking.views import BookingView
from clinicflow.catalog import Catalog
from clinicflow.infra.group_commit import GroupCommit
from clinicflow.infra.outbox import Event
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Forbidden, InvalidRequest

Units = UnitsOfWork[BookingUnitOfWork]


class BookingService:
    def __init__(
        self,
        *,
        uow: Units,
        catalog: Catalog,
        clock: Clock,
        sources: Sequence[CalendarSource],
        guard: BookingGuard,
        secret: bytes,
        launches: Launches | None = None,
        retries: int = 3,
    ) -> None:
        """`launches`: refreshed before each command, so a launched service is bookable."""
        self._uow = uow
        self._catalog = catalog
        self._clock = clock
        self._placement = Placement(catalog=catalog, sources=sources)
        self._guard = guard
        self._keys = IdempotencyKeys(secret)
        self._launches = launches
        self._retries = retries
        self._tz = catalog.clinic.tz
        self._batches: GroupCommit[BookingUnitOfWork] = GroupCommit(
            uow, defer=(errors.SlotContended,)
        )
        self._line = LocalLine()  # holds of one process queue here before the database

    # -- commands -------------------------------------------------------------------------

    async def hold(self, req: SlotRequest) -> BookingView:
        await self._refresh()
        visit = resolve(self._catalog, req.service, req.visit_type, req.duration)

        async def attempt() -> BookingView:
            now = self._clock.now()
            async with self._uow() as uow:
                held = await self._insert(uow, visit, req, None, Status.HELD, now)
                await self._publish(uow, booking_event("held", held, now))
                await uow.commit()
            return BookingView.of(held, now)

        practitioners = eligible(self._catalog, visit.service, req.practitioner)
        async with self._line.turn(lock_keys(practitioners, visit.block(req.start))):
            return await retrying(self._retries, attempt)

    async def book(
        self, actor: Actor, req: BookRequest, idempotency_key: str | None
    ) -> tuple[BookingView, bool]:
        """The booking, and whether it was an earlier one replayed for the same key.

        Anyone may book (the clinic's public booking page); a signed-in patient books for
        themselves. Keys are scoped per caller: anonymous callers share one scope, where
        the keyed fingerprint of the whole request (patient included) tells them apart."""
        await self._refresh()
        fingerprint = self._keys.fingerprint(req)
        scope = actor.id if actor.kind != "anonymous" else "anonymous"
        scoped = (scope, idempotency_key)

        async def alone() -> tuple[BookingView, bool]:
            return await retrying(
                self._retries, lambda: self._book_once(actor, req, scoped, fingerprint)
            )

        if req.hold_id is not None:  # confirming a hold locks it: one at a time
            return await alone()

        async def steps(uow: BookingUnitOfWork) -> tuple[BookingView, bool]:
            return await self._book_steps(uow, actor, req, scoped, fingerprint)

        return await self._batches.run(steps, alone)

    async def reschedule(
        self,
        actor: Actor,
        booking_id: str,
        start: datetime,
        practitioner: str | None,
        duration: int | None,
    ) -> BookingView:
        await self._refresh()
        await self._guard.require_role(actor, Need.CHANGE, booking_id)
        return await self._guard.denying(
            actor,
            Need.CHANGE,
            lambda: retrying(
                self._retries,
                lambda: self._reschedule_once(actor, booking_id, start, practitioner, duration),
            ),
        )

    async def act(
        self, actor: Actor, booking_id: str, action: Action, reason: str | None
    ) -> BookingView:
        need = need_of(action.value)
        await self._guard.require_role(actor, need, booking_id)
        return await self._guard.denying(
            actor, need, lambda: self._act_once(actor, need, booking_id, action, reason)
        )

    # -- the steps ------------------------------------------------------------------------

    async def _refresh(self) -> None:
        if self._launches is not None:
            await self._launches.refresh()

    async def _act_once(
        self, actor: Actor, need: Need, booking_id: str, action: Action, reason: str | None
    ) -> BookingView:
        now = self._clock.now()
        async with self._uow() as uow:
            found = await _locked(uow, booking_id)
            self._guard.check(actor, need, found)
            target = found.transition(action, now)
            check_action_time(self._catalog, action, found.service, found.start_at, now)
            if action is Action.CANCEL:
                changed = await uow.appointments.cancel(booking_id, reason, now)
            else:
                changed = await uow.appointments.set_status(booking_id, target, now)
            await self._publish(uow, booking_event(_EVENT_OF[action], changed, now, reason=reason))
            self._guard.record(uow, actor, action.value, changed, now)
            await uow.commit()
        return BookingView.of(changed, now)

    async def _book_once(
        self,
        actor: Actor,
        req: BookRequest,
        scoped_key: tuple[str, str | None],
        fingerprint: str,
    ) -> tuple[BookingView, bool]:
        async with self._uow() as uow:
            made = await self._book_steps(uow, actor, req, scoped_key, fingerprint)
            await uow.commit()
        return made

    async def _book_steps(
        self,
        uow: BookingUnitOfWork,
        actor: Actor,
        req: BookRequest,
        scoped_key: tuple[str, str | None],
        fingerprint: str,
    ) -> tuple[BookingView, bool]:
        """One booking inside the unit of work `uow`: its own, or its batch's."""
        now = self._clock.now()
        scope, key = scoped_key
        if key is not None and (stored := await uow.idempotency_keys.find(scope, key)):
            request_hash, earlier = stored
            self._keys.check_same_request(request_hash, fingerprint)
            return BookingView.of(earlier, now), True
        slot = req.slot
        visit = resolve(self._catalog, slot.service, slot.visit_type, slot.duration)
        placed = None
        if (
            req.hold_id is None
            and len(eligible(self._catalog, visit.service, slot.practitioner)) == 1
        ):
            # Who takes the slot does not depend on the patient: a contender that lost
            # learns it before writing a patient record that would be rolled back.
            placed = await self._placement.place(uow, visit, slot, None, now)
        patient_id, new_patient = await self._patient_of(uow, actor, req, now)
        if not new_patient:  # a record made just now has no visits to overlap
            await self._placement.check_patient_free(
                uow, actor, patient_id, slot.start, visit.duration, now, exclude_id=req.hold_id
            )
        if req.hold_id is not None:
            made = await self._confirm_hold(uow, req.hold_id, slot, patient_id, now)
        else:
            made = await self._insert(uow, visit, slot, patient_id, Status.CONFIRMED, now, placed)
        await self._publish(uow, booking_event("created", made, now))
        self._guard.record(uow, actor, "create", made, now)
        if key is not None:
            await uow.idempotency_keys.remember(scope, key, fingerprint, made.id, now)
        return BookingView.of(made, now), False

    async def _reschedule_once(
        self,
        actor: Actor,
        booking_id: str,
        start: datetime,
        practitioner: str | None,
        duration: int | None,
    ) -> BookingView:
        now = self._clock.now()
        async with self._uow() as uow:
            old = await _locked(uow, booking_id)
            self._guard.check(actor, Need.CHANGE, old)
            old.transition(Action.RESCHEDULE, now)
            visit = resolve(
                self._catalog, old.service, old.visit_type, duration or old.duration_min
            )
            slot = SlotRequest(
                old.service, old.visit_type, visit.duration, start, practitioner or old.practitioner
            )
            placed = await self._placement.place(
                uow, visit, slot, old.patient_id, now, exclude_id=old.id
            )
            await self._placement.check_patient_free(
                uow, actor, old.patient_id, start, visit.duration, now, exclude_id=old.id
            )
            await self._placement.expire_lapsed_holds(uow, placed, visit, start, now)
            moved = await uow.appointments.move(
                booking_id, visit.times(start, placed.practitioner), now
            )
            previous = {
                "start": old.start_at.isoformat(),
                "end": old.end_at.isoformat(),
                "practitioner": old.practitioner,
            }
            await self._publish(uow, booking_event("rescheduled", moved, now, previous=previous))
            self._guard.record(uow, actor, "reschedule", moved, now)
            await uow.commit()
        return BookingView.of(moved, now)

    async def _patient_of(
        self, uow: BookingUnitOfWork, actor: Actor, req: BookRequest, now: datetime
    ) -> tuple[str, bool]:
        if actor.patient_id is not None:
            return actor.patient_id, False
        if req.patient is None:
            raise InvalidRequest(
                "patient: give the patient's name and an email or phone number "
                "(or sign in with your link to book for yourself)"
            )
        return await uow.patients.match_or_create(req.patient, now)

    @staticmethod
    async def _publish(uow: BookingUnitOfWork, event: Event) -> None:
        """Into the outbox, and to the in-transaction listeners (the patients' visit
        history), so the history commits or rolls back with the booking itself."""
        uow.publish(event)
        for listener in uow.listeners:
            await listener.handle(event)

    async def _insert(
        self,
        uow: BookingUnitOfWork,
        visit: VisitRequest,
        slot: SlotRequest,
        patient_id: str | None,
        status: Status,
        now: datetime,
        placed: Placed | None = None,
    ) -> Appointment:
        placed = placed or await self._placement.place(uow, visit, slot, patient_id, now)
        await self._placement.expire_lapsed_holds(uow, placed, visit, slot.start, now)
        times = visit.times(slot.start, placed.practitioner)
        hold_expires_at = None
        if status is Status.HELD:
            hold_expires_at = now + timedelta(minutes=self._catalog.clinic.hold_minutes)
        keys = (visit.service.key, visit.visit_type.key)
        new = Appointment.new(*keys, times, patient_id, status, now, hold_expires_at)
        return await uow.appointments.add(new)

    async def _confirm_hold(
        self,
        uow: BookingUnitOfWork,
        hold_id: str,
        slot: SlotRequest,
        patient_id: str,
        now: datetime,
    ) -> Appointment:
        hold = await uow.appointments.get(hold_id, lock=True)
        if hold is None:
            raise errors.HoldNotFound(f"no hold {hold_id!r}: place one with POST /v1/holds")
        if hold.status_at(now) is Status.EXPIRED:
            lapsed = (hold.hold_expires_at or hold.updated_at).astimezone(self._tz)
            raise errors.HoldExpired(
                f"hold {hold_id} expired at {lapsed.isoformat()}"
                "; place a new hold, or book without hold_id if the slot is still open"
            )
        hold.transition(Action.CONFIRM, now)
        hold.check_hold_matches(slot)
        return await uow.appointments.confirm_hold(hold_id, patient_id, now)


_EVENT_OF = {
    Action.CANCEL: "cancelled",
    Action.CHECK_IN: "checked_in",
    Action.COMPLETE: "completed",
    Action.NO_SHOW: "no_show",
}


async def _locked(uow: BookingUnitOfWork, booking_id: str) -> Appointment:
    found = await uow.appointments.get(booking_id, lock=True)
    if found is None:
        raise errors.BookingNotFound(f"no booking {booking_id!r}")
    return found


class BookingReader:
    """Reading bookings: scoped to the caller, and every read of a patient's visit audited."""

    def __init__(self, *, uow: Units, clock: Clock, guard: BookingGuard) -> None:
        self._uow = uow
        self._clock = clock
        self._guard = guard

    async def get(self, actor: Actor, booking_id: str) -> BookingView:
        await self._guard.require_role(actor, Need.READ, booking_id)

        async def load() -> BookingView:
            async with self._uow.reading() as uow:
                found = await uow.appointments.get(booking_id)
            if found is None:
                raise errors.BookingNotFound(f"no booking {booking_id!r}")
            decision = self._guard.check(actor, Need.READ, found)
            await self._guard.record_reads(actor, [found], decision)
            return BookingView.of(found, self._clock.now())

        return await self._guard.denying(actor, Need.READ, load)

    async def search(
        self,
        actor: Actor,
        practitioner: str | None,
        lo: datetime | None,
        hi: datetime | None,
        limit: int,
        patient: str | None = None,
    ) -> list[BookingView]:
        """Staff with a full view see everyone; a practitioner their own schedule; a patient
        their own visits (`patient`, one patient's visits, narrows any of these). Each
        returned visit of a patient leaves an audit row."""
        await self._guard.require_role(actor, Need.READ, "*")
        patient_id = patient
        if actor.role is Role.PATIENT:
            if patient not in (None, actor.patient_id):
                return []  # another patient's visits are not theirs to list
            patient_id = actor.patient_id
        elif actor.role is Role.PRACTITIONER:
            if practitioner not in (None, actor.practitioner):
                raise Forbidden("practitioners list their own schedule only")
            practitioner = actor.practitioner or "-"
        async with self._uow.reading() as uow:
            found = await uow.appointments.search(practitioner, lo, hi, limit, patient_id)
        await self._guard.record_reads(actor, found)
        now = self._clock.now()
        return [BookingView.of(one, now) for one in found]
