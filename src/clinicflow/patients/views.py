"""What the patient context hands back: opened, plain data for the schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from clinicflow.patients.domain.patient import Address, Patient, Prefs, Referral
from clinicflow.patients.domain.visit import Enrollment, Visit

# A patient's details as the use cases answer them: the record, opened.
PatientView = Patient
# A visit and an enrollment as the record shows them: as kept (the schemas pick their fields).
VisitView = Visit
EnrollmentView = Enrollment

__all__ = [
    "Address",
    "EnrollmentView",
    "PatientView",
    "Reach",
    "RecordView",
    "Referral",
    "ServiceHistory",
    "VisitView",
]


@dataclass(frozen=True, slots=True)
class ServiceHistory:
    service: str
    past: list[VisitView] = field(default_factory=list)
    upcoming: list[VisitView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RecordView:
    """The multi-service view: enrollments, visits per service, referrals, merges."""

    patient: PatientView
    enrollments: list[EnrollmentView]
    services: list[ServiceHistory]
    referred_patients: list[str]
    merged_from: list[str]


@dataclass(frozen=True, slots=True)
class Traits:
    """What analytics may coarsen about a patient (its ZIP3 and age band; the values
    themselves are never stored outside this context)."""

    patient_id: str
    zip_code: str | None
    birth_date: date | None
    referral_source: str | None
    deidentified: bool


@dataclass(frozen=True, slots=True)
class Reach:
    """How to reach a patient, for the contexts that send them messages."""

    patient_id: str
    email: str | None
    phone: str | None  # E.164
    prefs: Prefs = field(default_factory=dict)  # per channel: consent, withdrawn_at
