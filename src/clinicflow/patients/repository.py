"""Turning patient changes into column values (sealed, indexed) and loading rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.tables import patients, visits

SEALED_TEXT = ("first_name", "last_name", "email", "phone", "notes")
PLAIN = ("sex", "pronouns")
CHANNELS = ("email", "sms", "push")


def column_values(
    patient_id: str,
    changes: Mapping[str, Any],
    cipher: PatientCipher,
    prefs: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in SEALED_TEXT:
        if name in changes:
            values[f"{name}_enc"] = cipher.seal(changes[name], name, patient_id)
    for name in ("email", "phone"):
        if name in changes:
            values[f"{name}_bidx"] = cipher.index(changes[name], name)
    if "birth_date" in changes:
        birth = changes["birth_date"]
        values["birth_date_enc"] = cipher.seal(
            birth.isoformat() if birth else None, "birth_date", patient_id
        )
    if "address" in changes:
        address = changes["address"]
        values["address_enc"] = cipher.seal(
            json.dumps(asdict(address)) if address else None, "address", patient_id
        )
    for name in PLAIN:
        if name in changes:
            values[name] = changes[name]
    if "referral" in changes:
        referral = changes["referral"]
        values["referral_source"] = referral.source if referral else None
        values["referred_by_patient_id"] = referral.patient_id if referral else None
        values["referred_by_practitioner"] = referral.practitioner if referral else None
        values["referral_campaign"] = referral.campaign if referral else None
    if "contact_prefs" in changes:
        values["contact_prefs"] = consent(prefs, changes["contact_prefs"] or {}, now)
    return values


def consent(
    current: Mapping[str, Any], wanted: Mapping[str, bool], now: datetime
) -> dict[str, Any]:
    """Per channel: opt-in with the time consent was given, or the time it was withdrawn.
    A channel not mentioned keeps its state; re-stating the same choice keeps its time."""
    prefs = {k: dict(v) for k, v in current.items()}
    for channel, opt_in in wanted.items():
        before = prefs.get(channel, {})
        if bool(before.get("opt_in")) == opt_in and before:
            continue
        stamp = now.isoformat()
        prefs[channel] = (
            {"opt_in": True, "consent_at": stamp, "withdrawn_at": None}
            if opt_in
            else {"opt_in": False, "consent_at": before.get("consent_at"), "withdrawn_at": stamp}
        )
    return prefs


async def load(conn: AsyncConnection, patient_id: str, *, lock: bool = False) -> Row[Any] | None:
    query = select(patients).where(patients.c.id == patient_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def find_by_bidx(conn: AsyncConnection, column: str, bidx: str) -> str | None:
    query = select(patients.c.id).where(patients.c[column] == bidx).limit(1)
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else str(found)


async def seen_by(conn: AsyncConnection, practitioner: str | None, patient_id: str) -> bool:
    """Whether the patient has (or had) a visit on this practitioner's calendar."""
    if practitioner is None:
        return False
    query = select(
        exists().where(visits.c.practitioner == practitioner, visits.c.patient_id == patient_id)
    )
    return bool((await conn.execute(query)).scalar())
