"""Patients: who the clinic cares for. PHI is sealed at rest and found by blind index.

What other contexts may use. Inside their own transactions, each of these is built once
with the key ring and bound to the transaction's connection by `on(conn)` (their unit of
work does that in `_open`): `PatientDirectory` (the patient behind a booking, found or
created; a patient by email), `ContactBook` (how to reach one), `PatientNames` (a name for a
receipt), `PatientTraitsBook` (what the analytics lake coarsens: ZIP, birth date,
referral source), and `VisitHistory` (booking's events mirrored into the visit history).
"""

from clinicflow.patients.contacts.repository import (
    BoundContactBook,
    BoundDirectory,
    BoundPatientNames,
    ContactBook,
    PatientDirectory,
    PatientNames,
    PatientTraitsBook,
)
from clinicflow.patients.domain.contact import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.domain.patient import PatientDetails
from clinicflow.patients.schemas import EmailIn, PhoneIn
from clinicflow.patients.views import Reach, Traits
from clinicflow.patients.visits.repository import BoundVisitHistory, VisitHistory

__all__ = [
    "BoundContactBook",
    "BoundDirectory",
    "BoundPatientNames",
    "BoundVisitHistory",
    "ContactBook",
    "EmailIn",
    "InvalidContact",
    "PatientDetails",
    "PatientDirectory",
    "PatientNames",
    "PatientTraitsBook",
    "PhoneIn",
    "Reach",
    "Traits",
    "VisitHistory",
    "normalize_email",
    "normalize_phone",
]
