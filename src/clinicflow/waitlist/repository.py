"""The waitlist's unit of work in SQL: one transaction over every aggregate's repository,
booking's records the waitlist changes with its own (bound by the composition root), and
the inbox of the waitlist's subscribers."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import Database
from clinicflow.infra.inbox import mark_handled, was_handled
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.entries.repository import SqlEntries
from clinicflow.waitlist.launches.repository import SqlInvitations, SqlWaves
from clinicflow.waitlist.nurture.repository import SqlNurtures
from clinicflow.waitlist.offers.repository import SqlOffers
from clinicflow.waitlist.ports import BookingRecords
from clinicflow.waitlist.stats.queries import SqlStats

# Booking's records inside this unit of work's transaction: the composition root binds
# booking's own implementation to the unit of work as it opens.
BookingBinding = Callable[[UnitOfWork], BookingRecords]


class SqlInbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def seen(self, subscriber: str, event_id: str) -> bool:
        return await was_handled(self._conn, subscriber, event_id)

    async def mark(self, subscriber: str, event_id: str, clock: Clock) -> bool:
        return await mark_handled(self._conn, subscriber, event_id, clock)


class SqlWaitlistUnitOfWork(UnitOfWork):
    """Built without `booking` (retention), its `booking` refuses to be used."""

    entries: SqlEntries
    invitations: SqlInvitations
    waves: SqlWaves
    offers: SqlOffers
    nurtures: SqlNurtures
    stats: SqlStats
    inbox: SqlInbox

    def __init__(
        self, db: Database, *, write: bool = True, booking: BookingBinding | None = None
    ) -> None:
        super().__init__(db, write=write)
        self._bind_booking = booking
        self._booking: BookingRecords | None = None

    @property
    def booking(self) -> BookingRecords:
        if self._booking is None:
            raise RuntimeError("this unit of work was built without booking's records")
        return self._booking

    def _open(self, conn: AsyncConnection) -> None:
        self.entries = SqlEntries(conn)
        self.invitations = SqlInvitations(conn)
        self.waves = SqlWaves(conn)
        self.offers = SqlOffers(conn)
        self.nurtures = SqlNurtures(conn)
        self.stats = SqlStats(conn)
        self.inbox = SqlInbox(conn)
        self._booking = None if self._bind_booking is None else self._bind_booking(self)
