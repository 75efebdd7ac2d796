"""What the patient context hands back: decrypted, plain data for the schemas."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clinicflow.patients.cipher import PatientCipher


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    zip: str
    line2: str | None = None


@dataclass(frozen=True, slots=True)
class Referral:
    source: str | None = None  # patient | practitioner | campaign | other
    patient_id: str | None = None
    practitioner: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class PatientView:
    id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: date | None
    sex: str | None
    pronouns: str | None
    address: Address | None
    notes: str | None
    contact_prefs: dict[str, Any]
    referral: Referral
    status: str
    merged_into: str | None
    legal_hold: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any, cipher: PatientCipher) -> PatientView:
        birth = cipher.open(row.birth_date_enc, "birth_date", row.id)
        address = cipher.open(row.address_enc, "address", row.id)
        return cls(
            id=row.id,
            first_name=cipher.open(row.first_name_enc, "first_name", row.id),
            last_name=cipher.open(row.last_name_enc, "last_name", row.id),
            email=cipher.open(row.email_enc, "email", row.id),
            phone=cipher.open(row.phone_enc, "phone", row.id),
            birth_date=date.fromisoformat(birth) if birth else None,
            sex=row.sex,
            pronouns=row.pronouns,
            address=Address(**json.loads(address)) if address else None,
            notes=cipher.open(row.notes_enc, "notes", row.id),
            contact_prefs=dict(row.contact_prefs or {}),
            referral=Referral(
                row.referral_source,
                row.referred_by_patient_id,
                row.referred_by_practitioner,
                row.referral_campaign,
            ),
            status=row.status,
            merged_into=row.merged_into,
            legal_hold=bool(row.legal_hold),
            version=int(row.version),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class VisitView:
    booking_id: str
    service: str
    visit_type: str
    practitioner: str
    status: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    service: str
    since: datetime
    status: str


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
