"""Patient records in SQL: values sealed on the way in, opened on the way out.

Sealing happens here, at the boundary, because it needs the key ring (infrastructure) and
because the ciphertext is how a value is *stored*, not what it is: the use cases and the
domain see plain values only, and nothing above this module ever holds a sealed one. Each
value is bound to its column and its patient's row (a value copied into another record does
not open there); emails and phones also get a blind index, so they can be found without
being opened.

Retention's repository is here too; it holds no key ring: it drops sealed values, never
opens them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import date, datetime

from sqlalchemy import ColumnElement, Executable, Row, exists, false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.crypto import KeyRing
from clinicflow.patients.domain.consent import Consents
from clinicflow.patients.domain.patient import (
    DEIDENTIFIED,
    MERGED,
    Address,
    Patient,
    PatientChange,
    PatientFields,
    Prefs,
    Referral,
)
from clinicflow.patients.domain.retention import UPCOMING, VISITED, Batch, PatientsDue
from clinicflow.patients.errors import email_taken
from clinicflow.patients.tables import PHI_COLUMNS, merges, patients, seal_context, visits

p, v = patients.c, visits.c


class PatientCipher:
    """Seals and opens one column's values for one record, and blind-indexes them."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def seal(self, value: str | None, column: str, patient_id: str) -> str | None:
        if value is None or value == "":
            return None
        return self._keys.encrypt(value, context=seal_context(column), row=patient_id)

    def open(self, token: str | None, column: str, patient_id: str) -> str | None:
        if token is None:
            return None
        return self._keys.decrypt(token, context=seal_context(column), row=patient_id)

    def index(self, value: str | None, column: str) -> str | None:
        if not value:
            return None
        return self._keys.blind_index(value, context=seal_context(column))

    def patient(self, row: Row[object]) -> Patient:
        """A `patients_patient` row, opened."""
        pid = str(row.id)
        birth = self.open(row.birth_date_enc, "birth_date", pid)
        address = self.open(row.address_enc, "address", pid)
        return Patient(
            id=pid,
            first_name=self.open(row.first_name_enc, "first_name", pid),
            last_name=self.open(row.last_name_enc, "last_name", pid),
            email=self.open(row.email_enc, "email", pid),
            phone=self.open(row.phone_enc, "phone", pid),
            birth_date=date.fromisoformat(birth) if birth else None,
            sex=row.sex,
            pronouns=row.pronouns,
            address=Address(**json.loads(address)) if address else None,
            notes=self.open(row.notes_enc, "notes", pid),
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

    def columns(self, patient_id: str, fields: PatientFields) -> dict[str, object]:
        """The column values of the fields given (sealed, indexed); `contact_prefs` aside."""
        seal = self.seal
        values: dict[str, object] = {}
        if "first_name" in fields:
            values["first_name_enc"] = seal(fields["first_name"], "first_name", patient_id)
        if "last_name" in fields:
            values["last_name_enc"] = seal(fields["last_name"], "last_name", patient_id)
        if "email" in fields:
            values["email_enc"] = seal(fields["email"], "email", patient_id)
            values["email_bidx"] = self.index(fields["email"], "email")
        if "phone" in fields:
            values["phone_enc"] = seal(fields["phone"], "phone", patient_id)
            values["phone_bidx"] = self.index(fields["phone"], "phone")
        if "notes" in fields:
            values["notes_enc"] = seal(fields["notes"], "notes", patient_id)
        if "birth_date" in fields:
            birth = fields["birth_date"]
            iso = birth.isoformat() if birth else None
            values["birth_date_enc"] = seal(iso, "birth_date", patient_id)
        if "address" in fields:
            address = fields["address"]
            sealed = json.dumps(asdict(address)) if address else None
            values["address_enc"] = seal(sealed, "address", patient_id)
        if "sex" in fields:
            values["sex"] = fields["sex"]
        if "pronouns" in fields:
            values["pronouns"] = fields["pronouns"]
        if "referral" in fields:
            referral = fields["referral"] or Referral()
            values["referral_source"] = referral.source
            values["referred_by_patient_id"] = referral.patient_id
            values["referred_by_practitioner"] = referral.practitioner
            values["referral_campaign"] = referral.campaign
        return values


class SqlPatientRepository:
    def __init__(self, conn: AsyncConnection, cipher: PatientCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def get(self, patient_id: str, *, lock: bool = False) -> Patient | None:
        query = select(patients).where(p.id == patient_id)
        if lock:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return None if row is None else self._cipher.patient(row)

    async def find(self, *, email: str | None = None, phone: str | None = None) -> list[Patient]:
        column, bidx = (
            (p.email_bidx, self._cipher.index(email, "email"))
            if email
            else (p.phone_bidx, self._cipher.index(phone, "phone"))
        )
        if bidx is None:  # nothing to look for (`column == None` would match every blank)
            return []
        query = select(patients).where(column == bidx).order_by(p.created_at)
        return [self._cipher.patient(row) for row in await self._conn.execute(query)]

    async def email_holder(self, email: str) -> str | None:
        bidx = self._cipher.index(email, "email")
        query = select(p.id).where(p.email_bidx == bidx).limit(1)
        found = (await self._conn.execute(query)).scalar_one_or_none()
        return None if found is None else str(found)

    async def add(
        self, patient_id: str, fields: PatientFields, prefs: Prefs, now: datetime
    ) -> Patient:
        values = self._cipher.columns(patient_id, fields)
        statement = patients.insert().values(
            id=patient_id, contact_prefs=prefs, created_at=now, updated_at=now, **values
        )
        await self._execute_taking_email(statement)
        return await self._reread(patient_id)

    async def change(self, patient: Patient, change: PatientChange, now: datetime) -> Patient:
        values = self._cipher.columns(patient.id, change.fields)
        if change.prefs is not None:
            values["contact_prefs"] = change.prefs
        if change.legal_hold is not None:
            values["legal_hold"] = change.legal_hold
        statement = (
            update(patients)
            .where(p.id == patient.id)
            .values(**values, updated_at=now, version=patient.version + 1)
        )
        await self._execute_taking_email(statement)
        return await self._reread(patient.id)

    async def mark_merged(self, source: Patient, target_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(patients)
            .where(p.id == source.id)
            .values(
                status=MERGED,
                merged_into=target_id,
                email_bidx=None,
                phone_bidx=None,
                updated_at=now,
                version=source.version + 1,
            )
        )

    async def move_referrals(self, source_id: str, target_id: str) -> int:
        result = await self._conn.execute(
            update(patients)
            .where(p.referred_by_patient_id == source_id)
            .values(referred_by_patient_id=target_id)
        )
        return int(result.rowcount)

    async def record_merge(
        self, source_id: str, target_id: str, actor_id: str, moved: dict[str, int], now: datetime
    ) -> None:
        await self._conn.execute(
            merges.insert().values(
                id=str(uuid.uuid4()),
                source_id=source_id,
                target_id=target_id,
                actor_id=actor_id[:64],
                moved=moved,
                merged_at=now,
            )
        )

    async def referred_by(self, patient_id: str) -> list[str]:
        query = select(p.id).where(p.referred_by_patient_id == patient_id).order_by(p.created_at)
        return [str(found) for found in (await self._conn.execute(query)).scalars()]

    async def merged_from(self, patient_id: str) -> list[str]:
        m = merges.c
        query = select(m.source_id).where(m.target_id == patient_id).order_by(m.merged_at)
        return [str(found) for found in (await self._conn.execute(query)).scalars()]

    async def consents_by_phone(self, phone: str) -> list[Consents]:
        query = (
            select(p.id, p.contact_prefs, p.version)
            .where(p.phone_bidx == self._cipher.index(phone, "phone"))
            .order_by(p.id)  # one lock order, so two such changes cannot deadlock
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = await self._conn.execute(query)
        return [Consents(str(r.id), dict(r.contact_prefs or {}), int(r.version)) for r in rows]

    async def set_consents(self, consents: Consents, prefs: Prefs, now: datetime) -> None:
        await self._conn.execute(
            update(patients)
            .where(p.id == consents.patient_id)
            .values(contact_prefs=prefs, updated_at=now, version=consents.version + 1)
        )

    async def _execute_taking_email(self, statement: Executable) -> None:
        try:
            await self._conn.execute(statement)
        except IntegrityError as exc:  # a concurrent write with the same email won
            raise email_taken() from exc

    async def _reread(self, patient_id: str) -> Patient:
        patient = await self.get(patient_id)
        if patient is None:  # pragma: no cover - written in this transaction
            raise LookupError(patient_id)
        return patient


# -- retention --------------------------------------------------------------------------


def _idle(policy: RetentionPolicy, now: datetime) -> list[ColumnElement[bool]]:
    """`domain.retention.idle`, in SQL."""
    cutoff = policy.patient_cutoff(now)
    mine = v.patient_id == p.id
    # "Last visit before the cutoff" is "no counted visit since": no MAX over a GROUP BY.
    recent = exists().where(mine, v.status.in_(VISITED), v.start_at >= cutoff)
    visited = exists().where(mine, v.status.in_(VISITED))
    ahead = exists().where(mine, v.status.in_(UPCOMING), v.start_at > now)
    return [p.status != DEIDENTIFIED, ~recent, or_(visited, p.created_at < cutoff), ~ahead]


class SqlRetentionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def due(self, policy: RetentionPolicy, now: datetime) -> PatientsDue:
        query = select(p.id, p.legal_hold).where(*_idle(policy, now)).order_by(p.id)
        rows = (await self._conn.execute(query)).all()
        return PatientsDue(
            due=[str(row.id) for row in rows if not row.legal_hold],
            spared_legal_hold=[str(row.id) for row in rows if row.legal_hold],
        )

    async def deidentify(
        self, policy: RetentionPolicy, now: datetime, *, after: str, limit: int
    ) -> Batch:
        # The rule is evaluated here and again in the UPDATE itself, and the rows are locked
        # on PostgreSQL: a patient who booked or was put under legal hold meanwhile is left
        # alone.
        rule = [*_idle(policy, now), p.legal_hold == false()]
        query = select(p.id).where(*rule, p.id > after).order_by(p.id).limit(limit)
        candidates = [str(c) for c in (await self._conn.execute(query.with_for_update())).scalars()]
        if not candidates:
            return Batch([], None)
        changed = await self._conn.execute(
            update(patients).where(p.id.in_(candidates), *rule).values(_erased(now)).returning(p.id)
        )
        done = sorted(str(c) for c in changed.scalars())
        # A short batch was the last one: no need for another transaction to find nothing.
        return Batch(done, candidates[-1] if len(candidates) == limit else None)


def _erased(now: datetime) -> dict[str, object]:
    cleared: dict[str, object] = dict.fromkeys(PHI_COLUMNS)  # notes_enc is among them
    return cleared | {
        "email_bidx": None,
        "phone_bidx": None,
        "contact_prefs": {},
        "status": DEIDENTIFIED,
        "deidentified_at": now,
        "updated_at": now,
        "version": p.version + 1,
    }
