"""A patient's record as the use cases see it: opened (PHI in the clear), never a row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypedDict


class ChannelConsent(TypedDict, total=False):
    """One channel's consent: opted in since `consent_at`, or out since `withdrawn_at`."""

    opt_in: bool
    consent_at: str | None
    withdrawn_at: str | None


# Per channel ("email", "sms", "push").
Prefs = dict[str, ChannelConsent]

ACTIVE, MERGED, DEIDENTIFIED = "active", "merged", "deidentified"


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


class PatientFields(TypedDict, total=False):
    """The fields a caller may set; only those given change, and None clears one."""

    first_name: str | None
    last_name: str | None
    email: str | None  # normalized
    phone: str | None  # E.164
    birth_date: date | None
    sex: str | None
    pronouns: str | None
    address: Address | None
    notes: str | None
    contact_prefs: dict[str, bool] | None  # opt in or out, per channel
    referral: Referral | None


@dataclass(frozen=True, slots=True)
class PatientChange:
    """What one write changes on a record: the given fields, and the contact preferences
    (timed already) or the legal hold when those change too."""

    fields: PatientFields = field(default_factory=PatientFields)
    prefs: Prefs | None = None
    legal_hold: bool | None = None


@dataclass(frozen=True, slots=True)
class Patient:
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
    contact_prefs: Prefs
    referral: Referral
    status: str  # active | merged | deidentified
    merged_into: str | None
    legal_hold: bool
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """Who a booking (or a waitlist entry) is for, as the caller gave it."""

    first_name: str
    last_name: str
    email: str | None  # normalized
    phone: str | None  # E.164
