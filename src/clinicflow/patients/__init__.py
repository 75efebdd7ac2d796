"""Patients: who the clinic cares for. PHI is sealed at rest and found by blind index."""

from clinicflow.patients.contact import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.directory import PatientDetails, PatientDirectory
from clinicflow.patients.reach import ContactBook, Reach

__all__ = [
    "ContactBook",
    "InvalidContact",
    "PatientDetails",
    "PatientDirectory",
    "Reach",
    "normalize_email",
    "normalize_phone",
]
