"""How to reach a patient, for the contexts that send them messages: only the email, phone
and contact preferences are opened (the minimum necessary), never the rest of the record.
The caller audits the access (it knows why it reads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.crypto import KeyRing
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.tables import patients


@dataclass(frozen=True, slots=True)
class Reach:
    patient_id: str
    email: str | None
    phone: str | None  # E.164
    prefs: dict[str, Any] = field(default_factory=dict)  # per channel: consent, withdrawn_at


class ContactBook:
    def __init__(self, keys: KeyRing) -> None:
        self._cipher = PatientCipher(keys)

    async def reach(self, conn: AsyncConnection, patient_id: str) -> Reach | None:
        query = select(
            patients.c.id, patients.c.email_enc, patients.c.phone_enc, patients.c.contact_prefs
        ).where(patients.c.id == patient_id)
        row = (await conn.execute(query)).first()
        if row is None:
            return None
        return Reach(
            row.id,
            self._cipher.open(row.email_enc, "email", row.id),
            self._cipher.open(row.phone_enc, "phone", row.id),
            dict(row.contact_prefs or {}),
        )
