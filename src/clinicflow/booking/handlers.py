"""Booking use cases: hold, book, reschedule and the life-cycle actions.

Each runs in one write transaction (`Database.write`): it checks the slot against every
committed booking, writes the change and its event to the outbox, and commits. On PostgreSQL
contenders for the same practitioner's time first queue on a lock (booking/slot_locks.py);
should a concurrent writer still win the race, the exclusion constraint refuses our row and
the use case runs again, now seeing the winner (so the caller gets `slot_unavailable`).
"""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import errors, queries
from clinicflow.booking import repository as repo
from clinicflow.booking import rules as r
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.access import Need, need_of
from clinicflow.booking.domain.lifecycle import Action, Status, effective_status
from clinicflow.booking.events import booking_event
from clinicflow.booking.guard import BookingGuard, access
from clinicflow.booking.idempotency import IdempotencyKeys, retrying
from clinicflow.booking.placement import Placed, Placement
from clinicflow.booking.ports import CalendarSource, EventListener, PatientMatcher
from clinicflow.booking.slot_locks import LocalLine, SlotContended, lock_keys, queue_for
from clinicflow.booking.tables import appointments
from clinicflow.booking.views import BookingView
from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.infra.group_commit import GroupCommit
from clinicflow.infra.outbox import Event, record
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

_INSERT = insert(appointments).returning(appointments)


class BookingService:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        clock: Clock,
        patients: PatientMatcher,
        sources: Sequence[CalendarSource],
        guard: BookingGuard,
        *,
        secret: bytes,
        listeners: Sequence[EventListener] = (),
        retries: int = 3,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._clock = clock
        self._patients = patients
        self._placement = Placement(catalog, sources)
        self._keys = IdempotencyKeys(secret)
        self._retries = retries
        self._tz = catalog.clinic.tz
        self._guard = guard
        self._listeners = tuple(listeners)
        # Concurrent bookings share a transaction (infra/group_commit.py).
        self._batches = GroupCommit(db, defer=(SlotContended,))
        self._line = LocalLine()  # holds of one process queue here before the database

    # -- commands -------------------------------------------------------------------------

    async def hold(self, req: SlotRequest) -> BookingView:
        visit = r.resolve(self._catalog, req.service, req.visit_type, req.duration)

        async def attempt() -> BookingView:
            now = self._clock.now()
            async with self._db.write() as conn:
                row = await self._insert(conn, visit, req, None, Status.HELD, now)
                await self._publish(conn, booking_event("held", row, now))
            return BookingView.of(row, now)

        practitioners = r.eligible(self._catalog, visit.service, req.practitioner)
        async with self._line.turn(lock_keys(practitioners, visit.block(req.start))):
            return await retrying(self._retries, attempt)

    async def book(
        self, actor: Actor, req: BookRequest, idempotency_key: str | None
    ) -> tuple[BookingView, bool]:
        """The booking, and whether it was an earlier one replayed for the same key.

        Anyone may book (the clinic's public booking page); a signed-in patient books for
        themselves. Keys are scoped per caller: anonymous callers share one scope, where
        the keyed fingerprint of the whole request (patient included) tells them apart."""
        fingerprint = self._keys.fingerprint(req)
        scope = actor.id if actor.kind != "anonymous" else "anonymous"
        scoped = (scope, idempotency_key)

        def alone() -> Coroutine[Any, Any, tuple[BookingView, bool]]:
            return retrying(self._retries, lambda: self._book_once(actor, req, scoped, fingerprint))

        if req.hold_id is not None:  # confirming a hold locks it: one at a time
            return await alone()

        async def steps(conn: AsyncConnection) -> tuple[BookingView, bool]:
            return await self._book_steps(conn, actor, req, scoped, fingerprint)

        return await self._batches.run(steps, alone)

    async def reschedule(
        self,
        actor: Actor,
        booking_id: str,
        start: datetime,
        practitioner: str | None,
        duration: int | None,
    ) -> BookingView:
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

    async def _act_once(
        self, actor: Actor, need: Need, booking_id: str, action: Action, reason: str | None
    ) -> BookingView:
        now = self._clock.now()
        async with self._db.write() as conn:
            row = await repo.locked(conn, booking_id)
            self._guard.check(actor, need, row)
            target = repo.transition(row, action, now)
            r.check_action_time(self._catalog, action, row.service, row.start_at, now)
            values: dict[str, Any] = {"status": target.value, "updated_at": now}
            if action is Action.CANCEL:
                values["cancel_reason"] = reason
            row = await repo.update_row(conn, booking_id, values)
            await self._publish(conn, booking_event(_EVENT_OF[action], row, now, reason=reason))
            await self._guard.trail.record(conn, actor, action.value, [access(row)])
        return BookingView.of(row, now)

    # -- the steps ------------------------------------------------------------------------

    async def _book_once(
        self,
        actor: Actor,
        req: BookRequest,
        scoped_key: tuple[str, str | None],
        fingerprint: str,
    ) -> tuple[BookingView, bool]:
        async with self._db.write() as conn:
            return await self._book_steps(conn, actor, req, scoped_key, fingerprint)

    async def _book_steps(
        self,
        conn: AsyncConnection,
        actor: Actor,
        req: BookRequest,
        scoped_key: tuple[str, str | None],
        fingerprint: str,
    ) -> tuple[BookingView, bool]:
        """One booking inside the write transaction `conn`: its own, or its batch's."""
        now = self._clock.now()
        scope, key = scoped_key
        if key is not None and (
            replayed := await self._keys.replay(conn, scope, key, fingerprint, now)
        ):
            return replayed, True
        slot = req.slot
        visit = r.resolve(self._catalog, slot.service, slot.visit_type, slot.duration)
        placed = None
        if (
            req.hold_id is None
            and len(r.eligible(self._catalog, visit.service, slot.practitioner)) == 1
        ):
            # Who takes the slot does not depend on the patient: a contender that lost
            # learns it before writing a patient record that would be rolled back.
            placed = await self._place(conn, visit, slot, None, now)
        patient_id, new_patient = await self._patient_of(conn, actor, req, now)
        if not new_patient:  # a record made just now has no visits to overlap
            await self._check_patient_free(
                conn, actor, patient_id, slot.start, visit.duration, now, exclude_id=req.hold_id
            )
        if req.hold_id is not None:
            row = await self._confirm_hold(conn, req.hold_id, slot, patient_id, now)
        else:
            row = await self._insert(conn, visit, slot, patient_id, Status.CONFIRMED, now, placed)
        await self._publish(conn, booking_event("created", row, now))
        await self._guard.trail.record(conn, actor, "create", [access(row)])
        if key is not None:
            await self._keys.remember(conn, scope, key, fingerprint, row.id, now)
        return BookingView.of(row, now), False

    async def _reschedule_once(
        self,
        actor: Actor,
        booking_id: str,
        start: datetime,
        practitioner: str | None,
        duration: int | None,
    ) -> BookingView:
        now = self._clock.now()
        async with self._db.write() as conn:
            old = await repo.locked(conn, booking_id)
            self._guard.check(actor, Need.CHANGE, old)
            repo.transition(old, Action.RESCHEDULE, now)
            visit = r.resolve(
                self._catalog, old.service, old.visit_type, duration or old.duration_min
            )
            slot = SlotRequest(
                old.service, old.visit_type, visit.duration, start, practitioner or old.practitioner
            )
            placed = await self._place(conn, visit, slot, old.patient_id, now, exclude_id=old.id)
            await self._check_patient_free(
                conn, actor, old.patient_id, start, visit.duration, now, exclude_id=old.id
            )
            await self._expire_lapsed_holds(conn, placed, visit, start, now)
            row = await repo.update_row(
                conn, booking_id, repo.slot_values(visit, start, placed.practitioner, now)
            )
            previous = {
                "start": old.start_at.isoformat(),
                "end": old.end_at.isoformat(),
                "practitioner": old.practitioner,
            }
            await self._publish(conn, booking_event("rescheduled", row, now, previous=previous))
            await self._guard.trail.record(conn, actor, "reschedule", [access(row)])
        return BookingView.of(row, now)

    async def _patient_of(
        self, conn: AsyncConnection, actor: Actor, req: BookRequest, now: datetime
    ) -> tuple[str, bool]:
        if actor.patient_id is not None:
            return actor.patient_id, False
        if req.patient is None:
            raise InvalidRequest(
                "patient: give the patient's name and an email or phone number "
                "(or sign in with your link to book for yourself)"
            )
        return await self._patients.match_or_create(conn, req.patient, now)

    async def _publish(self, conn: AsyncConnection, event: Event) -> None:
        """Into the outbox, and to the in-transaction listeners (the patients' visit
        history), so the history commits or rolls back with the booking itself."""
        await record(conn, event)
        for listener in self._listeners:
            await listener.handle(conn, event)

    async def _insert(
        self,
        conn: AsyncConnection,
        visit: r.VisitRequest,
        slot: SlotRequest,
        patient_id: str | None,
        status: Status,
        now: datetime,
        placed: Placed | None = None,
    ) -> Any:
        placed = placed or await self._place(conn, visit, slot, patient_id, now)
        await self._expire_lapsed_holds(conn, placed, visit, slot.start, now)
        values = repo.slot_values(visit, slot.start, placed.practitioner, now) | {
            "id": str(uuid.uuid4()),
            "service": visit.service.key,
            "visit_type": visit.visit_type.key,
            "patient_id": patient_id,
            "status": status.value,
            "created_at": now,
        }
        if status is Status.HELD:
            values["hold_expires_at"] = now + timedelta(minutes=self._catalog.clinic.hold_minutes)
        return (await conn.execute(_INSERT, values)).one()

    async def _place(
        self,
        conn: AsyncConnection,
        visit: r.VisitRequest,
        slot: SlotRequest,
        patient_id: str | None,
        now: datetime,
        exclude_id: str | None = None,
    ) -> Placed:
        """Who takes `slot`, once every writer ahead at the same practitioners' times (on
        PostgreSQL: booking/slot_locks.py) has committed or rolled back."""
        practitioners = r.eligible(self._catalog, visit.service, slot.practitioner)
        await queue_for(conn, lock_keys(practitioners, visit.block(slot.start)))
        return await self._placement.choose(conn, visit, slot, patient_id, now, exclude_id)

    async def _expire_lapsed_holds(
        self,
        conn: AsyncConnection,
        placed: Placed,
        visit: r.VisitRequest,
        start: datetime,
        now: datetime,
    ) -> None:
        """Lapsed holds still sit in the table (their block would refuse ours); only when the
        placement saw some, mark them expired first."""
        if placed.lapsed_holds:
            block_start, block_end = visit.block(start)
            await repo.expire_stale_holds(conn, placed.practitioner, block_start, block_end, now)

    async def _confirm_hold(
        self,
        conn: AsyncConnection,
        hold_id: str,
        slot: SlotRequest,
        patient_id: str,
        now: datetime,
    ) -> Any:
        hold = await queries.get_row(conn, hold_id, lock=True)
        if hold is None:
            raise errors.HoldNotFound(f"no hold {hold_id!r}: place one with POST /v1/holds")
        status = effective_status(hold.status, hold.hold_expires_at, now)
        if status is Status.EXPIRED:
            raise errors.HoldExpired(
                f"hold {hold_id} expired at {hold.hold_expires_at.astimezone(self._tz).isoformat()}"
                "; place a new hold, or book without hold_id if the slot is still open"
            )
        repo.transition(hold, Action.CONFIRM, now)
        repo.check_hold_matches(hold, slot)
        return await repo.update_row(
            conn,
            hold_id,
            {
                "status": Status.CONFIRMED.value,
                "patient_id": patient_id,
                "hold_expires_at": None,
                "updated_at": now,
            },
        )

    async def _check_patient_free(
        self,
        conn: AsyncConnection,
        actor: Actor,
        patient_id: str | None,
        start: datetime,
        duration: int,
        now: datetime,
        exclude_id: str | None = None,
    ) -> None:
        if patient_id is None:
            return
        end = start + timedelta(minutes=duration)
        if not await queries.patient_overlaps(conn, patient_id, start, end, now, exclude_id):
            return
        if actor.kind == "anonymous":
            # Anyone can type someone's email: say nothing about that person's visits, not
            # even which time collided. The person sees their visits once signed in.
            raise errors.PatientUnavailable(ANONYMOUS_OVERLAP)
        raise errors.PatientUnavailable(
            "this patient already has a visit that overlaps "
            f"{start.astimezone(self._tz).isoformat()}; choose another time"
        )


ANONYMOUS_OVERLAP = (
    "this visit cannot be booked with these contact details; choose another time, or ask "
    "for a sign-in link (POST /v1/auth/patient-link) to see the visits on your record"
)

_EVENT_OF = {
    Action.CANCEL: "cancelled",
    Action.CHECK_IN: "checked_in",
    Action.COMPLETE: "completed",
    Action.NO_SHOW: "no_show",
}
