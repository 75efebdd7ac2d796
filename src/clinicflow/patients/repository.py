"""The patients context's units of work over SQL: its repositories on one transaction.

`SqlPatientsUnitOfWork` gives the patient records (sealed with the key ring), the visit
history, and booking's side of a merge, bound to the same transaction by `bookings(conn)`
(booking owns its tables; the composition root says how to reach them).
`SqlRetentionUnitOfWork` gives retention its repository and no key ring.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import OnConnection, UnitOfWork, on_connection
from clinicflow.patients.errors import MergeConflict
from clinicflow.patients.ports import BookingReassigner
from clinicflow.patients.records.repository import (
    PatientCipher,
    SqlPatientRepository,
    SqlRetentionRepository,
)
from clinicflow.patients.visits.repository import SqlVisitRepository

# Booking's reassigner on a transaction's connection.
BookingsOn = Callable[[AsyncConnection], BookingReassigner]


class SqlPatientsUnitOfWork(UnitOfWork):
    def __init__(
        self, db: Database, *, write: bool = True, cipher: PatientCipher, bookings: BookingsOn
    ) -> None:
        super().__init__(db, write=write)
        self._cipher = cipher
        self._bookings_on = bookings

    def _patients(self, conn: AsyncConnection) -> SqlPatientRepository:
        return SqlPatientRepository(conn, self._cipher)

    def _bookings(self, conn: AsyncConnection) -> BookingReassigner:
        return _Reassigning(self._bookings_on(conn))

    patients = OnConnection(_patients)
    visits = on_connection(SqlVisitRepository)
    bookings = OnConnection(_bookings)


class _Reassigning:
    """Booking's reassigner, with PostgreSQL's exclusion constraint said as a merge conflict."""

    def __init__(self, inner: BookingReassigner) -> None:
        self._inner = inner

    async def reassign(self, source_id: str, target_id: str) -> int:
        try:
            return await self._inner.reassign(source_id, target_id)
        except IntegrityError as exc:
            raise MergeConflict(
                "the two records have visits at overlapping times; cancel or move one of "
                "them, then merge again"
            ) from exc


class SqlRetentionUnitOfWork(UnitOfWork):
    records = on_connection(SqlRetentionRepository)
