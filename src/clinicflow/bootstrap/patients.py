"""The patients context's wiring."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.bootstrap.booking import PatientReassigner
from clinicflow.bootstrap.core import Core
from clinicflow.patients import PatientDirectory
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.guard import PatientGuard
from clinicflow.patients.handlers import PatientService
from clinicflow.patients.reads import PatientReader


@dataclass(frozen=True)
class PatientParts:
    service: PatientService
    reads: PatientReader
    cipher: PatientCipher  # for the other contexts' consent and name look-ups
    directory: PatientDirectory  # booking's and sign-in's match-or-create and find


def wire_patients(core: Core) -> PatientParts:
    cipher = PatientCipher(keys=core.keys)
    guard = PatientGuard(trail=core.trail)
    return PatientParts(
        service=PatientService(
            db=core.db,
            clock=core.clock,
            cipher=cipher,
            guard=guard,
            bookings=PatientReassigner(clock=core.clock),
        ),
        reads=PatientReader(db=core.db, clock=core.clock, cipher=cipher, guard=guard),
        cipher=cipher,
        directory=PatientDirectory(keys=core.keys),
    )
