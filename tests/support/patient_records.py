"""What the patient record's use-case tests (tests/unit/patients/test_patient_*_service.py) share:
Ada's fields, changes to a record, and records made (a pair of duplicates to merge).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.patient import Address, Patient, PatientFields, Referral
from clinicflow.patients.records.service import PatientService
from support.fake_patients import FRONT_DESK

ADA = PatientFields(
    first_name="Adaline",
    last_name="Quorrel",
    email="adaline.quorrel@example.org",
    phone="+15125550142",
    birth_date=date(1984, 3, 9),
    sex="female",
    pronouns="she/her",
    address=Address("12 Elm St", "Austin", "TX", "78701"),
    notes="prefers mornings",
    contact_prefs={"email": True, "sms": False},
    referral=Referral(source="campaign", campaign="spring-fair"),
)


def changes(**values: Any) -> PatientChanges:
    return PatientChanges(PatientFields(**values))  # type: ignore[typeddict-item]


async def make(service: PatientService, **over: Any) -> Patient:
    return await service.create(FRONT_DESK, changes(**{**ADA, **over}))


async def make_pair(service: PatientService, **dup: Any) -> tuple[Patient, Patient]:
    """Adaline's record, and a duplicate of it under dup@example.org (`dup`: what else differs)."""
    keep = await make(service)
    return keep, await make(service, **{"email": "dup@example.org", **dup})
