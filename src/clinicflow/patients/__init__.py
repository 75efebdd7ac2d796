"""Patients: who the clinic cares for. PHI is sealed at rest and found by blind index."""

from clinicflow.patients.contact import (
    EmailIn,
    InvalidContact,
    PhoneIn,
    normalize_email,
    normalize_phone,
)
from clinicflow.patients.directory import PatientDetails, PatientDirectory
from clinicflow.patients.reach import ContactBook, Reach

__all__ = [
    "ContactBook",
    "EmailIn",
    "InvalidContact",
    "PatientDetails",
    "PatientDirectory",
    "PhoneIn",
    "Reach",
    "normalize_email",
    "normalize_phone",
]
