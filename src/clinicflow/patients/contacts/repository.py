"""What other contexts ask of patients inside their own transactions: the patient behind a
booking (found or created), a patient by email, how to reach one, their name on a receipt.

Each is built once with the key ring and bound to a transaction's connection by `on(conn)`
— the other context's unit of work does that in its `_open` — so the other context's use
cases call, e.g., `uow.patients.match_or_create(details, now)` and never see a connection.
Only what the caller needs is opened (the minimum necessary): an id, the email, phone and
consent, the name, or (for the analytics lake, which keeps them coarsened) the ZIP, birth date
and referral source. The caller audits the access (it knows why it reads).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.crypto import KeyRing
from clinicflow.patients.domain.patient import PatientDetails
from clinicflow.patients.records.repository import PatientCipher
from clinicflow.patients.tables import patients
from clinicflow.patients.views import Reach, Traits

p = patients.c

# Built once: this runs inside every anonymous booking.
_INSERT = insert(patients)
_BY_EMAIL, _BY_PHONE = (
    select(p.id).where(column == bindparam("q_bidx")).order_by(p.created_at).limit(1)
    for column in (p.email_bidx, p.phone_bidx)
)
_REACH = select(p.id, p.email_enc, p.phone_enc, p.contact_prefs).where(p.id == bindparam("q_id"))
_TRAITS = select(
    p.id, p.birth_date_enc, p.address_enc, p.referral_source, p.deidentified_at, p.status
).where(p.id.in_(bindparam("q_ids", expanding=True)))
_NAMES = select(p.first_name_enc, p.last_name_enc).where(p.id == bindparam("q_id"))
_NAMES_OF = select(p.id, p.first_name_enc, p.last_name_enc).where(
    p.id.in_(bindparam("q_ids", expanding=True))
)


class PatientDirectory:
    """Finding or creating the patient behind a booking; finding a patient by email."""

    def __init__(self, keys: KeyRing) -> None:
        self._cipher = PatientCipher(keys)

    def on(self, conn: AsyncConnection) -> BoundDirectory:
        return BoundDirectory(conn, self._cipher)

    # Transitional (issue 15): the calls as they were, with the caller's connection; they
    # go once booking's and identity's units of work build `on(conn)`.
    async def match_or_create(
        self, conn: AsyncConnection, details: PatientDetails, now: datetime
    ) -> tuple[str, bool]:
        return await self.on(conn).match_or_create(details, now)

    async def find_by_email(self, conn: AsyncConnection, email: str) -> str | None:
        return await self.on(conn).find_by_email(email)


class BoundDirectory:
    """The directory on one transaction's connection."""

    def __init__(self, conn: AsyncConnection, cipher: PatientCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def match_or_create(self, details: PatientDetails, now: datetime) -> tuple[str, bool]:
        """Match by email, or by phone when no email is given; otherwise create a record.
        The id, and whether the record is new (then it has no visits yet)."""
        cipher = self._cipher
        email_bidx = cipher.index(details.email, "email")
        phone_bidx = cipher.index(details.phone, "phone")
        found = await self._find(email_bidx, phone_bidx)
        if found is not None:
            return found, False
        patient_id = str(uuid.uuid4())
        await self._conn.execute(
            _INSERT,
            {
                "id": patient_id,
                "first_name_enc": cipher.seal(details.first_name, "first_name", patient_id),
                "last_name_enc": cipher.seal(details.last_name, "last_name", patient_id),
                "email_enc": cipher.seal(details.email, "email", patient_id),
                "phone_enc": cipher.seal(details.phone, "phone", patient_id),
                "email_bidx": email_bidx,
                "phone_bidx": phone_bidx,
                "created_at": now,
                "updated_at": now,
            },
        )
        return patient_id, True

    async def find_by_email(self, email: str) -> str | None:
        """`email` normalized; merged and de-identified records have no index, so never match."""
        return await self._find(self._cipher.index(email, "email"), None)

    async def _find(self, email_bidx: str | None, phone_bidx: str | None) -> str | None:
        # With an email, only the email decides: family members often share one phone,
        # and joining two people's records is worse than a duplicate staff can merge.
        if email_bidx:
            query, bidx = _BY_EMAIL, email_bidx
        elif phone_bidx:
            query, bidx = _BY_PHONE, phone_bidx
        else:
            return None
        found = (await self._conn.execute(query, {"q_bidx": bidx})).scalar_one_or_none()
        return None if found is None else str(found)


class ContactBook:
    """How to reach a patient: only the email, phone and consent are opened."""

    def __init__(self, keys: KeyRing) -> None:
        self._cipher = PatientCipher(keys)

    def on(self, conn: AsyncConnection) -> BoundContactBook:
        return BoundContactBook(conn, self._cipher)

    async def reach(self, conn: AsyncConnection, patient_id: str) -> Reach | None:
        """Transitional (issue 15): goes once notifications' unit of work builds `on(conn)`."""
        return await self.on(conn).reach(patient_id)


class BoundContactBook:
    def __init__(self, conn: AsyncConnection, cipher: PatientCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def reach(self, patient_id: str) -> Reach | None:
        row = (await self._conn.execute(_REACH, {"q_id": patient_id})).first()
        if row is None:
            return None
        pid = str(row.id)
        return Reach(
            pid,
            self._cipher.open(row.email_enc, "email", pid),
            self._cipher.open(row.phone_enc, "phone", pid),
            dict(row.contact_prefs or {}),
        )


class PatientNames:
    """A patient's name, for a receipt: only the names are opened."""

    def __init__(self, keys: KeyRing) -> None:
        self._cipher = PatientCipher(keys)

    def on(self, conn: AsyncConnection) -> BoundPatientNames:
        return BoundPatientNames(conn, self._cipher)

    async def full_name(self, conn: AsyncConnection, patient_id: str) -> str | None:
        """Transitional (issue 15): payments' `PatientNames` port as it is, with a connection;
        goes once payments' unit of work builds `on(conn)`."""
        return await self.on(conn).full_name(patient_id)


class BoundPatientNames:
    def __init__(self, conn: AsyncConnection, cipher: PatientCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def full_name(self, patient_id: str) -> str | None:
        row = (await self._conn.execute(_NAMES, {"q_id": patient_id})).first()
        if row is None:
            return None
        return self._name(patient_id, row.first_name_enc, row.last_name_enc)

    async def full_names(self, patient_ids: Collection[str]) -> dict[str, str | None]:
        """Many patients' names in one query: by id, the patients found (a name-less
        record: None)."""
        if not patient_ids:
            return {}
        rows = await self._conn.execute(_NAMES_OF, {"q_ids": sorted(set(patient_ids))})
        return {
            str(row.id): self._name(str(row.id), row.first_name_enc, row.last_name_enc)
            for row in rows
        }

    def _name(self, patient_id: str, first: str | None, last: str | None) -> str | None:
        parts = (
            self._cipher.open(first, "first_name", patient_id),
            self._cipher.open(last, "last_name", patient_id),
        )
        return " ".join(x for x in parts if x) or None


class PatientTraitsBook:
    """What the analytics lake coarsens: ZIP, birth date and referral source, nothing else."""

    def __init__(self, keys: KeyRing) -> None:
        self._cipher = PatientCipher(keys)

    def on(self, conn: AsyncConnection) -> BoundTraitsBook:
        return BoundTraitsBook(conn, self._cipher)


class BoundTraitsBook:
    def __init__(self, conn: AsyncConnection, cipher: PatientCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def traits(self, patient_ids: Collection[str]) -> list[Traits]:
        if not patient_ids:
            return []
        rows = await self._conn.execute(_TRAITS, {"q_ids": sorted(patient_ids)})
        found = []
        for row in rows:
            pid = str(row.id)
            birth = self._cipher.open(row.birth_date_enc, "birth_date", pid)
            address = self._cipher.open(row.address_enc, "address", pid)
            zip_code = json.loads(address).get("zip") if address else None
            found.append(
                Traits(
                    patient_id=pid,
                    zip_code=zip_code if isinstance(zip_code, str) else None,
                    birth_date=date.fromisoformat(birth) if birth else None,
                    referral_source=row.referral_source,
                    deidentified=row.deidentified_at is not None,
                )
            )
        return found
