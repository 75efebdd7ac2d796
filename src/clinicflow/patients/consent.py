"""Consent changes that arrive from a phone rather than from a person at the clinic: a STOP
(or START) texted back to the clinic's number. Notifications' `ConsentRegistry` port.

Every patient with that number is changed (family members often share a phone, and the
phone's owner asked for no more texts). START gives consent back only to those who had
given it and then withdrawn it: it never opts in someone who never agreed to texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.db import Database
from clinicflow.patients import repository as repo
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.contact import InvalidContact, normalize_phone
from clinicflow.patients.guard import access
from clinicflow.patients.tables import patients
from clinicflow.shared.actor import SYSTEM

CHANNEL = "sms"


class SmsConsent:
    def __init__(self, db: Database, cipher: PatientCipher, trail: AuditTrail) -> None:
        self._db = db
        self._cipher = cipher
        self._trail = trail

    async def withdraw_sms(self, phone_e164: str, at: datetime) -> int:
        return await self._change(phone_e164, False, at)

    async def restore_sms(self, phone_e164: str, at: datetime) -> int:
        return await self._change(phone_e164, True, at)

    async def _change(self, phone: str, opt_in: bool, at: datetime) -> int:
        try:
            normalized = normalize_phone(phone)
        except InvalidContact:
            return 0  # a short code or an alphanumeric sender is no patient's number
        bidx = self._cipher.index(normalized, "phone")
        async with self._db.write() as conn:
            rows = await _by_phone(conn, bidx)
            changed = [r.id for r in rows if await _apply(conn, r, opt_in, at)]
            # Each patient found by the number is an access, changed or not.
            await self._trail.record(
                conn,
                SYSTEM,
                "sms_opt_in" if opt_in else "sms_opt_out",
                [access(r.id) for r in rows],
                reason=f"{'START' if opt_in else 'STOP'} texted from the patient's number",
            )
        return len(changed)


async def _by_phone(conn: AsyncConnection, bidx: str | None) -> list[Any]:
    query = (
        select(patients.c.id, patients.c.contact_prefs, patients.c.version)
        .where(patients.c.phone_bidx == bidx)
        .order_by(patients.c.id)  # one lock order, so two such changes cannot deadlock
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return list((await conn.execute(query)).all())


async def _apply(conn: AsyncConnection, row: Any, opt_in: bool, at: datetime) -> bool:
    prefs: Mapping[str, Any] = row.contact_prefs or {}
    if opt_in and not _withdrawn_after_consent(prefs):
        return False
    wanted = repo.consent(prefs, {CHANNEL: opt_in}, at)
    if wanted == prefs:
        return False  # already so: a repeated STOP changes nothing, not even the time
    await conn.execute(
        update(patients)
        .where(patients.c.id == row.id)
        .values(contact_prefs=wanted, updated_at=at, version=row.version + 1)
    )
    return True


def _withdrawn_after_consent(prefs: Mapping[str, Any]) -> bool:
    entry = prefs.get(CHANNEL) or {}
    return bool(entry.get("consent_at")) and not entry.get("opt_in")
