"""What integrations need from outside. Calls carry ids and times only (a `SyncedVisit`);
an adapter that needs a patient's details asks the patients context for them itself, audited.

Every call must be idempotent: events arrive at least once, so the same visit may be pushed
twice, and a removal of something already gone is not an error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clinicflow.infra.unit_of_work import Transaction
from clinicflow.integrations.domain.crm import CrmContact, MarketingCandidate
from clinicflow.integrations.domain.ehr import Demographics, RemotePatient
from clinicflow.integrations.views import ConflictView


@dataclass(frozen=True, slots=True)
class SyncedVisit:
    booking_id: str
    service: str
    visit_type: str
    practitioner: str
    start: datetime  # aware UTC
    end: datetime
    patient_id: str | None


class CalendarSync(Protocol):
    """The practitioner's own calendar: the visit appears there, moves, or goes."""

    name: str

    async def upsert_visit(self, visit: SyncedVisit) -> None: ...

    async def remove_visit(self, booking_id: str, practitioner: str) -> None: ...


class EhrSync(Protocol):
    """The clinical record: an encounter is scheduled, moved or cancelled there."""

    name: str

    async def schedule_encounter(self, visit: SyncedVisit) -> None: ...

    async def cancel_encounter(self, booking_id: str) -> None: ...


class EhrUnavailable(Exception):
    """The EHR did not answer, or answered with a failure worth trying again later."""


class EhrCircuitOpen(EhrUnavailable):
    """The EHR's circuit is open: it was not called."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")


class EhrDirectory(Protocol):
    """The EHR's API as the sync uses it (adapters/ehr/medirecords.py)."""

    name: str

    async def search_patients(self, ours: Demographics, patient_id: str) -> list[RemotePatient]:
        """Candidates for our patient: by our identifier where the EHR allows, and by name."""
        ...

    async def create_patient(self, ours: Demographics, patient_id: str) -> RemotePatient:
        """Created with our identifier, at most once however often it is asked."""
        ...

    async def read_patient(self, remote_id: str) -> RemotePatient | None: ...

    async def upsert_appointment(self, visit: SyncedVisit, remote_patient_id: str) -> None: ...

    async def cancel_appointment(self, booking_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class EhrNotice:
    """A webhook from the EHR, verified: its id and the patients it says changed."""

    notice_id: str
    patient_ids: tuple[str, ...]


class EhrNotices(Protocol):
    """Checks and reads the EHR's webhooks (adapters/ehr/medirecords_webhooks.py). Raises
    `EhrNoticeRefused` when the caller is not the EHR, `InvalidRequest` when malformed."""

    def read(self, authorization: str | None, body: bytes) -> EhrNotice: ...


class PatientRecords(Protocol):
    """The patients context's records, read and changed on the integration's behalf through
    its use cases (so every read and change leaves an audit row). Wired in bootstrap."""

    async def demographics(self, patient_id: str) -> Demographics | None:
        """None when there is no such active record."""
        ...

    async def apply(self, patient_id: str, theirs: Demographics, fields: Sequence[str]) -> None:
        """Writes `fields` of `theirs` to the record; raises the patients context's
        DomainError when it refuses (an email another record holds)."""
        ...

    async def marketing(self, patient_id: str) -> MarketingCandidate | None: ...


class CrmUnavailable(Exception):
    """The CRM did not answer, or answered with a failure worth trying again later."""


class CrmCircuitOpen(CrmUnavailable):
    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")


class CrmContacts(Protocol):
    """A CRM's contacts (adapters/crm/hubspot.py): created or updated by email."""

    name: str

    async def upsert_contact(self, contact: CrmContact) -> None: ...


@dataclass(frozen=True, slots=True)
class EhrLink:
    """Our patient and the EHR's, with the digest of the demographics agreed at last sync."""

    patient_id: str
    remote_id: str
    synced_digest: str
    synced_at: datetime


@dataclass(frozen=True, slots=True)
class NewConflict:
    patient_id: str
    remote_id: str | None
    kind: str  # edited_both_sides | ambiguous_match | refused
    fields: tuple[str, ...]
    remote_version: str | None
    detail: str | None = None  # ids and codes only, never a value


class EhrLinkRepository(Protocol):
    async def of_patient(self, patient_id: str) -> EhrLink | None: ...

    async def of_remote(self, remote_id: str) -> EhrLink | None: ...

    async def put(self, link: EhrLink) -> None:
        """Inserts or replaces the patient's link."""
        ...

    async def forget(self, patient_id: str) -> None:
        """The patient's link and conflicts go (their record was de-identified)."""
        ...


class ConflictRepository(Protocol):
    async def add_once(self, conflict: NewConflict, now: datetime) -> bool:
        """Adds it unless an open one of the same kind, patient and EHR version is listed."""
        ...

    async def resolve(self, conflict_id: str, actor_id: str, now: datetime) -> str | None:
        """Marks an open conflict resolved; its patient's id, or None when none is open."""
        ...


class NoticeRepository(Protocol):
    async def first_time(self, notice_id: str, now: datetime) -> bool:
        """Records the webhook's id; False when it was recorded before (a retry)."""
        ...


class ConflictList(Protocol):
    async def conflicts(self, *, open_only: bool, limit: int) -> list[ConflictView]:
        """Newest first."""
        ...


class IntegrationsUnitOfWork(Transaction, Protocol):
    @property
    def links(self) -> EhrLinkRepository: ...

    @property
    def conflicts(self) -> ConflictRepository: ...

    @property
    def notices(self) -> NoticeRepository: ...

    @property
    def conflict_list(self) -> ConflictList: ...
