"""Finding or creating the patient behind a booking, and finding a patient by contact."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.crypto import KeyRing
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.tables import patients


@dataclass(frozen=True, slots=True)
class PatientDetails:
    first_name: str
    last_name: str
    email: str | None  # normalized
    phone: str | None  # E.164


# Built once: this runs inside every anonymous booking.
_INSERT = insert(patients)
_BY_EMAIL, _BY_PHONE = (
    select(patients.c.id)
    .where(column == bindparam("q_bidx"))
    .order_by(patients.c.created_at)
    .limit(1)
    for column in (patients.c.email_bidx, patients.c.phone_bidx)
)


class PatientDirectory:
    def __init__(self, keys: KeyRing) -> None:
        self._cipher = PatientCipher(keys)

    async def match_or_create(
        self, conn: AsyncConnection, details: PatientDetails, now: datetime
    ) -> tuple[str, bool]:
        """Match by email, or by phone when no email is given; otherwise create a record.
        The id, and whether the record is new (then it has no visits yet)."""
        email_bidx = self._bidx(details.email, "email")
        phone_bidx = self._bidx(details.phone, "phone")
        found = await self._find(conn, email_bidx, phone_bidx)
        if found is not None:
            return found, False
        patient_id = str(uuid.uuid4())
        await conn.execute(
            _INSERT,
            {
                "id": patient_id,
                "first_name_enc": self._seal(details.first_name, "first_name", patient_id),
                "last_name_enc": self._seal(details.last_name, "last_name", patient_id),
                "email_enc": self._seal(details.email, "email", patient_id),
                "phone_enc": self._seal(details.phone, "phone", patient_id),
                "email_bidx": email_bidx,
                "phone_bidx": phone_bidx,
                "created_at": now,
                "updated_at": now,
            },
        )
        return patient_id, True

    async def find_by_email(self, conn: AsyncConnection, email: str) -> str | None:
        """`email` normalized; merged and de-identified records have no index, so never match."""
        return await self._find(conn, self._bidx(email, "email"), None)

    async def _find(
        self, conn: AsyncConnection, email_bidx: str | None, phone_bidx: str | None
    ) -> str | None:
        # With an email, only the email decides: family members often share one phone,
        # and joining two people's records is worse than a duplicate staff can merge.
        if email_bidx:
            query, bidx = _BY_EMAIL, email_bidx
        elif phone_bidx:
            query, bidx = _BY_PHONE, phone_bidx
        else:
            return None
        found = (await conn.execute(query, {"q_bidx": bidx})).scalar_one_or_none()
        return None if found is None else str(found)

    def _seal(self, value: str | None, column: str, patient_id: str) -> str | None:
        return self._cipher.seal(value, column, patient_id)

    def _bidx(self, value: str | None, column: str) -> str | None:
        return self._cipher.index(value, column)
