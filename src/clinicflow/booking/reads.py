"""Reading bookings: scoped to the caller, and every read of a patient's visit audited."""

from __future__ import annotations

from datetime import datetime

from clinicflow.booking import errors, queries
from clinicflow.booking.domain.access import Need
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.views import BookingView
from clinicflow.infra.db import Database
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Forbidden


class BookingReader:
    def __init__(self, db: Database, clock: Clock, guard: BookingGuard) -> None:
        self._db = db
        self._clock = clock
        self._guard = guard

    async def get(self, actor: Actor, booking_id: str) -> BookingView:
        await self._guard.require_role(actor, Need.READ, booking_id)

        async def load() -> BookingView:
            async with self._db.read() as conn:
                row = await queries.get_row(conn, booking_id)
            if row is None:
                raise errors.BookingNotFound(f"no booking {booking_id!r}")
            decision = self._guard.check(actor, Need.READ, row)
            await self._guard.record_reads(actor, [row], decision)
            return BookingView.of(row, self._clock.now())

        return await self._guard.denying(actor, Need.READ, load)

    async def search(
        self,
        actor: Actor,
        practitioner: str | None,
        lo: datetime | None,
        hi: datetime | None,
        limit: int,
    ) -> list[BookingView]:
        """Staff with a full view see everyone; a practitioner their own schedule; a patient
        their own visits. Each returned visit of a patient leaves an audit row."""
        await self._guard.require_role(actor, Need.READ, "*")
        patient_id = None
        if actor.role is Role.PATIENT:
            patient_id = actor.patient_id
        elif actor.role is Role.PRACTITIONER:
            if practitioner not in (None, actor.practitioner):
                raise Forbidden("practitioners list their own schedule only")
            practitioner = actor.practitioner or "-"
        async with self._db.read() as conn:
            rows = await queries.list_rows(conn, practitioner, lo, hi, limit, patient_id)
        await self._guard.record_reads(actor, rows)
        now = self._clock.now()
        return [BookingView.of(row, now) for row in rows]
