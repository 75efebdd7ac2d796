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
from clinicflow.infra.unit_of_work import UnitOfWork
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
        self._repos: tuple[SqlPatientRepository, SqlVisitRepository, BookingReassigner] | None
        self._repos = None

    def _open(self, conn: AsyncConnection) -> None:
        self._repos = (
            SqlPatientRepository(conn, self._cipher),
            SqlVisitRepository(conn),
            _Reassigning(self._bookings_on(conn)),
        )

    def _opened(self) -> tuple[SqlPatientRepository, SqlVisitRepository, BookingReassigner]:
        self.connection  # noqa: B018 - raises TransactionClosed outside `async with`
        assert self._repos is not None
        return self._repos

    @property
    def patients(self) -> SqlPatientRepository:
        return self._opened()[0]

    @property
    def visits(self) -> SqlVisitRepository:
        return self._opened()[1]

    @property
    def bookings(self) -> BookingReassigner:
        return self._opened()[2]


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
    def __init__(self, db: Database, *, write: bool = True) -> None:
        super().__init__(db, write=write)
        self._records: SqlRetentionRepository | None = None

    def _open(self, conn: AsyncConnection) -> None:
        self._records = SqlRetentionRepository(conn)

    @property
    def records(self) -> SqlRetentionRepository:
        self.connection  # noqa: B018 - raises TransactionClosed outside `async with`
        assert self._records is not None
        return self._records
