"""In-memory units of work for the patients context's use cases (`patients/ports.py`).

`PatientStore` holds what the tables would: records (opened: the fake has no key ring, and
needs none, since sealing is the SQL repository's), the visit history, enrollments, merges,
and booking's side (which booking belongs to whom). A unit of work snapshots it on enter and
puts it back when the block ends without `commit()`, as a rollback would. The repositories
answer as the SQL ones do, down to the blind indexes: a merged record is not found by its
email or phone, and an email belongs to one record.

    world = FakePatients()
    service = PatientService(uow=world.uow, clock=clock, guard=world.guard(clock))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.patients.domain.consent import Consents
from clinicflow.patients.domain.patient import (
    ACTIVE,
    DEIDENTIFIED,
    MERGED,
    Patient,
    PatientChange,
    PatientFields,
    Prefs,
    Referral,
)
from clinicflow.patients.domain.retention import Batch, PatientsDue, idle
from clinicflow.patients.domain.visit import Enrollment, Visit
from clinicflow.patients.errors import MergeConflict, email_taken
from clinicflow.patients.guard import PatientGuard
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_uow import FakeFactory, Ledger

# The clinic's "now" in the patients tests, and who asks.
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)

FRONT_DESK = Actor(kind="user", id="desk", role=Role.FRONT_DESK, tier="staff")
ADMIN = Actor(kind="user", id="boss", role=Role.ADMIN, tier="staff")
BILLING = Actor(kind="user", id="bill", role=Role.BILLING, tier="staff")
ANALYST = Actor(kind="user", id="numbers", role=Role.ANALYST, tier="staff")
DOCTOR = Actor(kind="user", id="doc1", role=Role.PRACTITIONER, practitioner="doctor1")


def patient_actor(patient_id: str) -> Actor:
    return Actor(
        kind="patient", id=f"patient:{patient_id}", role=Role.PATIENT, patient_id=patient_id
    )


def client_actor(*scopes: str) -> Actor:
    return Actor(kind="client", id="ehr", role=Role.CLIENT, scopes=frozenset(scopes))


@dataclass
class Merge:
    source_id: str
    target_id: str
    actor_id: str
    moved: dict[str, int]
    at: datetime


@dataclass
class PatientStore:
    patients: dict[str, Patient] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)  # by booking id
    enrollments: dict[tuple[str, str], Enrollment] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    bookings: dict[str, str] = field(default_factory=dict)  # booking id -> patient id
    # Pairs of records whose bookings overlap in time: booking refuses to join them.
    overlapping: set[frozenset[str]] = field(default_factory=set)


def _indexed(patient: Patient) -> bool:
    """Whether the blind indexes find it: a merged record lost them."""
    return patient.status != MERGED


def _text(value: str | None) -> str | None:
    return value or None  # an empty value is not sealed: None, as the SQL repository stores


def _applied(patient: Patient, fields: PatientFields) -> Patient:
    changed = patient
    if "first_name" in fields:
        changed = replace(changed, first_name=_text(fields["first_name"]))
    if "last_name" in fields:
        changed = replace(changed, last_name=_text(fields["last_name"]))
    if "email" in fields:
        changed = replace(changed, email=_text(fields["email"]))
    if "phone" in fields:
        changed = replace(changed, phone=_text(fields["phone"]))
    if "notes" in fields:
        changed = replace(changed, notes=_text(fields["notes"]))
    if "birth_date" in fields:
        changed = replace(changed, birth_date=fields["birth_date"])
    if "address" in fields:
        changed = replace(changed, address=fields["address"])
    if "sex" in fields:
        changed = replace(changed, sex=fields["sex"])
    if "pronouns" in fields:
        changed = replace(changed, pronouns=fields["pronouns"])
    if "referral" in fields:
        changed = replace(changed, referral=fields["referral"] or Referral())
    return changed


class FakePatientRepository(OnTables[PatientStore]):
    async def get(self, patient_id: str, *, lock: bool = False) -> Patient | None:
        return self._t.patients.get(patient_id)

    async def find(self, *, email: str | None = None, phone: str | None = None) -> list[Patient]:
        if email:
            found = [p for p in self._all() if _indexed(p) and p.email == email]
        elif phone:
            found = [p for p in self._all() if _indexed(p) and p.phone == phone]
        else:
            found = []
        return sorted(found, key=lambda p: p.created_at)

    async def email_holder(self, email: str) -> str | None:
        return next((p.id for p in self._all() if _indexed(p) and p.email == email), None)

    async def add(
        self, patient_id: str, fields: PatientFields, prefs: Prefs, now: datetime
    ) -> Patient:
        blank = Patient(
            id=patient_id,
            first_name=None,
            last_name=None,
            email=None,
            phone=None,
            birth_date=None,
            sex=None,
            pronouns=None,
            address=None,
            notes=None,
            contact_prefs=prefs,
            referral=Referral(),
            status=ACTIVE,
            merged_into=None,
            legal_hold=False,
            version=1,
            created_at=now,
            updated_at=now,
        )
        return self._put(_applied(blank, fields))

    async def change(self, patient: Patient, change: PatientChange, now: datetime) -> Patient:
        changed = replace(
            _applied(patient, change.fields), version=patient.version + 1, updated_at=now
        )
        if change.prefs is not None:
            changed = replace(changed, contact_prefs=change.prefs)
        if change.legal_hold is not None:
            changed = replace(changed, legal_hold=change.legal_hold)
        return self._put(changed)

    async def mark_merged(self, source: Patient, target_id: str, now: datetime) -> None:
        self._t.patients[source.id] = replace(
            source, status=MERGED, merged_into=target_id, version=source.version + 1, updated_at=now
        )

    async def move_referrals(self, source_id: str, target_id: str) -> int:
        referred = [p for p in self._all() if p.referral.patient_id == source_id]
        for p in referred:
            self._t.patients[p.id] = replace(p, referral=replace(p.referral, patient_id=target_id))
        return len(referred)

    async def record_merge(
        self, source_id: str, target_id: str, actor_id: str, moved: dict[str, int], now: datetime
    ) -> None:
        self._t.merges.append(Merge(source_id, target_id, actor_id[:64], moved, now))

    async def referred_by(self, patient_id: str) -> list[str]:
        referred = [p for p in self._all() if p.referral.patient_id == patient_id]
        return [p.id for p in sorted(referred, key=lambda p: p.created_at)]

    async def merged_from(self, patient_id: str) -> list[str]:
        return [m.source_id for m in self._t.merges if m.target_id == patient_id]

    async def consents_by_phone(self, phone: str) -> list[Consents]:
        found = sorted((p for p in self._all() if _indexed(p) and p.phone == phone), key=_id)
        return [Consents(p.id, p.contact_prefs, p.version) for p in found]

    async def set_consents(self, consents: Consents, prefs: Prefs, now: datetime) -> None:
        patient = self._t.patients[consents.patient_id]
        self._t.patients[patient.id] = replace(
            patient, contact_prefs=prefs, version=consents.version + 1, updated_at=now
        )

    def _all(self) -> list[Patient]:
        return list(self._t.patients.values())

    def _put(self, patient: Patient) -> Patient:
        """The unique index on the email's blind index."""
        if patient.email is not None and _indexed(patient):
            for other in self._all():
                if other.id != patient.id and _indexed(other) and other.email == patient.email:
                    raise email_taken()
        self._t.patients[patient.id] = patient
        return patient


def _id(patient: Patient) -> str:
    return patient.id


class FakeVisitRepository(OnTables[PatientStore]):
    async def seen_by(self, practitioner: str | None, patient_id: str) -> bool:
        return practitioner is not None and any(
            v.practitioner == practitioner and v.patient_id == patient_id
            for v in self._t.visits.values()
        )

    async def of_patient(self, patient_id: str) -> list[Visit]:
        mine = [v for v in self._t.visits.values() if v.patient_id == patient_id]
        return sorted(mine, key=lambda v: v.start)

    async def enrollments(self, patient_id: str) -> list[Enrollment]:
        mine = [e for e in self._t.enrollments.values() if e.patient_id == patient_id]
        return sorted(mine, key=lambda e: e.since)

    async def move(self, source_id: str, target_id: str) -> int:
        moved = [v for v in self._t.visits.values() if v.patient_id == source_id]
        for v in moved:
            self._t.visits[v.booking_id] = replace(v, patient_id=target_id)
        return len(moved)

    async def take_over_enrollments(
        self, source_id: str, target_id: str, enrollments: list[Enrollment]
    ) -> None:
        store = self._t.enrollments
        for key in [k for k in store if k[0] == source_id]:
            del store[key]
        for e in enrollments:
            store[(target_id, e.service)] = replace(e, patient_id=target_id)


class FakeBookings(OnTables[PatientStore]):
    """Booking's side of a merge: which booking is whose."""

    async def reassign(self, source_id: str, target_id: str) -> int:
        if frozenset((source_id, target_id)) in self._t.overlapping:
            raise MergeConflict("the two records have visits at overlapping times")
        moved = [b for b, pid in self._t.bookings.items() if pid == source_id]
        for booking_id in moved:
            self._t.bookings[booking_id] = target_id
        return len(moved)


class FakeRetentionRepository(OnTables[PatientStore]):
    async def due(self, policy: RetentionPolicy, now: datetime) -> PatientsDue:
        idle_ = self._idle(policy, now)
        return PatientsDue(
            due=[p.id for p in idle_ if not p.legal_hold],
            spared_legal_hold=[p.id for p in idle_ if p.legal_hold],
        )

    async def deidentify(
        self, policy: RetentionPolicy, now: datetime, *, after: str, limit: int
    ) -> Batch:
        candidates = [p for p in self._idle(policy, now) if not p.legal_hold and p.id > after][
            :limit
        ]
        for p in candidates:
            self._t.patients[p.id] = replace(
                p,
                first_name=None,
                last_name=None,
                email=None,
                phone=None,
                birth_date=None,
                address=None,
                notes=None,
                contact_prefs={},
                status=DEIDENTIFIED,
                version=p.version + 1,
                updated_at=now,
            )
        done = [p.id for p in candidates]
        return Batch(done, done[-1] if len(candidates) == limit else None)

    def _idle(self, policy: RetentionPolicy, now: datetime) -> list[Patient]:
        visits = self._t.visits.values()
        return sorted(
            (
                p
                for p in self._t.patients.values()
                if idle(
                    p.status, p.created_at, [v for v in visits if v.patient_id == p.id], policy, now
                )
            ),
            key=_id,
        )


class FakePatientsUnitOfWork(TablesTransaction[PatientStore]):
    patients = Repository(FakePatientRepository)
    visits = Repository(FakeVisitRepository)
    bookings = Repository(FakeBookings)
    records = Repository(FakeRetentionRepository)


@dataclass
class FakePatients:
    """One in-memory patients context: its store, its units of work, what they left."""

    store: PatientStore = field(default_factory=PatientStore)
    ledger: Ledger = field(default_factory=Ledger)
    opened: list[FakePatientsUnitOfWork] = field(default_factory=list)

    @property
    def uow(self) -> FakeFactory[FakePatientsUnitOfWork]:
        return FakeFactory(self._make)

    def guard(self, clock: Clock) -> PatientGuard:
        return PatientGuard(uow=self.uow, clock=clock)

    def _make(self, write: bool) -> FakePatientsUnitOfWork:
        made = FakePatientsUnitOfWork(self.ledger, self.store, write=write)
        self.opened.append(made)
        return made

    def visit(
        self,
        patient_id: str,
        start: datetime,
        *,
        booking_id: str | None = None,
        service: str = "alternative_medicine",
        practitioner: str = "doctor1",
        status: str = "confirmed",
        end: datetime | None = None,
    ) -> Visit:
        """A booking of `patient_id`, as booking's events leave it in the history."""
        booking_id = booking_id or f"b{len(self.store.visits) + 1}"
        made = Visit(
            booking_id,
            patient_id,
            service,
            "initial",
            practitioner,
            status,
            start,
            end or start,
        )
        self.store.visits[booking_id] = made
        self.store.bookings[booking_id] = patient_id
        return made

    def enroll(
        self, patient_id: str, service: str, since: datetime, status: str = "active"
    ) -> None:
        self.store.enrollments[(patient_id, service)] = Enrollment(
            patient_id, service, since, status, since
        )

    def committed_audit(self) -> list[tuple[str, str, str]]:
        """(action, outcome, resource id) of every audit entry committed so far."""
        return [(e.action, e.outcome, e.resource_id) for e, _ in self.ledger.audited]
