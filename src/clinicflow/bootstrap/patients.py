"""The patients context's wiring."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.merging import PatientReassigner
from clinicflow.bootstrap.core import Core
from clinicflow.infra.unit_of_work import Factory
from clinicflow.patients import PatientDirectory, PatientNames
from clinicflow.patients.contacts.service import SmsConsent
from clinicflow.patients.guard import PatientGuard
from clinicflow.patients.records.repository import PatientCipher
from clinicflow.patients.records.service import PatientReader, PatientService
from clinicflow.patients.repository import SqlPatientsUnitOfWork


@dataclass(frozen=True)
class PatientParts:
    service: PatientService
    reads: PatientReader
    consent: SmsConsent  # notifications' ConsentRegistry: STOP/START texted back
    names: PatientNames  # payments' receipts
    directory: PatientDirectory  # booking's and sign-in's match-or-create and find


class _BookingsOn:
    """Booking's reassigner, which takes the connection, on one unit of work's connection.
    Transitional (issue 15): goes when booking gives its own `on(conn)`."""

    def __init__(self, reassigner: PatientReassigner, conn: AsyncConnection) -> None:
        self._reassigner = reassigner
        self._conn = conn

    async def reassign(self, source_id: str, target_id: str) -> int:
        return await self._reassigner.reassign(self._conn, source_id, target_id)


def wire_patients(core: Core) -> PatientParts:
    reassigner = PatientReassigner(clock=core.clock)
    uow = Factory(
        core.db,
        functools.partial(
            SqlPatientsUnitOfWork,
            cipher=PatientCipher(core.keys),
            bookings=lambda conn: _BookingsOn(reassigner, conn),
        ),
    )
    guard = PatientGuard(uow=uow, clock=core.clock)
    return PatientParts(
        service=PatientService(uow=uow, clock=core.clock, guard=guard),
        reads=PatientReader(uow=uow, clock=core.clock, guard=guard),
        consent=SmsConsent(uow=uow, guard=guard),
        names=PatientNames(keys=core.keys),
        directory=PatientDirectory(keys=core.keys),
    )
