"""Patients: who the clinic cares for. PHI is sealed at rest and found by blind index."""

from clinicflow.patients.contact import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.directory import PatientDetails, PatientDirectory

__all__ = [
    "InvalidContact",
    "PatientDetails",
    "PatientDirectory",
    "normalize_email",
    "normalize_phone",
]
