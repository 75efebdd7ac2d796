"""What the patient use cases need from outside: their unit of work, its repositories, and
booking's side of a merge. The SQL behind them is in the `repository.py` modules; the
in-memory ones are in `tests/support/fake_patients.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.patients.domain.consent import Consents
from clinicflow.patients.domain.patient import Patient, PatientChange, PatientFields, Prefs
from clinicflow.patients.domain.retention import Batch, PatientsDue
from clinicflow.patients.domain.visit import Enrollment, Visit


class PatientRepository(Protocol):
    """Patient records: values sealed on the way in, opened on the way out."""

    async def get(self, patient_id: str, *, lock: bool = False) -> Patient | None: ...

    async def find(self, *, email: str | None = None, phone: str | None = None) -> list[Patient]:
        """Exact match on a normalized email (or else phone), oldest first; merged and
        de-identified records have no index, so never match."""
        ...

    async def email_holder(self, email: str) -> str | None:
        """The record that has this (normalized) email, if any."""
        ...

    async def add(
        self, patient_id: str, fields: PatientFields, prefs: Prefs, now: datetime
    ) -> Patient:
        """Raises PatientExists when another record took the email meanwhile."""
        ...

    async def change(self, patient: Patient, change: PatientChange, now: datetime) -> Patient:
        """The change, and a new version. Raises PatientExists when another record took the
        email meanwhile."""
        ...

    async def mark_merged(self, source: Patient, target_id: str, now: datetime) -> None:
        """The duplicate points at the survivor and loses its blind indexes."""
        ...

    async def move_referrals(self, source_id: str, target_id: str) -> int: ...

    async def record_merge(
        self, source_id: str, target_id: str, actor_id: str, moved: dict[str, int], now: datetime
    ) -> None: ...

    async def referred_by(self, patient_id: str) -> list[str]: ...

    async def merged_from(self, patient_id: str) -> list[str]: ...

    async def consents_by_phone(self, phone: str) -> list[Consents]:
        """Every record with this (E.164) phone, in id order, locked where the database can."""
        ...

    async def set_consents(self, consents: Consents, prefs: Prefs, now: datetime) -> None: ...


class VisitRepository(Protocol):
    """The visit history kept from booking's events, and service enrollments."""

    async def seen_by(self, practitioner: str | None, patient_id: str) -> bool:
        """Whether the patient has (or had) a visit on this practitioner's calendar."""
        ...

    async def of_patient(self, patient_id: str) -> list[Visit]:
        """Oldest first."""
        ...

    async def enrollments(self, patient_id: str) -> list[Enrollment]:
        """Earliest first."""
        ...

    async def move(self, source_id: str, target_id: str) -> int: ...

    async def take_over_enrollments(
        self, source_id: str, target_id: str, enrollments: list[Enrollment]
    ) -> None:
        """The duplicate's enrollments go; `enrollments` become the survivor's."""
        ...


class BookingReassigner(Protocol):
    """Moves every booking of one patient record to another (for merges), in the unit of
    work's transaction; returns how many moved. Raises a Conflict (MergeConflict, or
    booking's own) when the two have visits at overlapping times."""

    async def reassign(self, source_id: str, target_id: str) -> int: ...


class PatientsUnitOfWork(Transaction, Protocol):
    @property
    def patients(self) -> PatientRepository: ...

    @property
    def visits(self) -> VisitRepository: ...

    @property
    def bookings(self) -> BookingReassigner: ...


class RetentionRepository(Protocol):
    """Retention's view of the records: ids and dates only, never a sealed value."""

    async def due(self, policy: RetentionPolicy, now: datetime) -> PatientsDue: ...

    async def deidentify(
        self, policy: RetentionPolicy, now: datetime, *, after: str, limit: int
    ) -> Batch:
        """Up to `limit` due records with ids after `after`, de-identified; the rule asked
        again as they change, so one booked or held meanwhile is left alone."""
        ...


class RetentionUnitOfWork(Transaction, Protocol):
    """Retention's unit of work: it holds no key ring, so it cannot open a record."""

    @property
    def records(self) -> RetentionRepository: ...
