"""Retention of patient records: de-identify a patient once the record has been idle long enough.

Due: the last visit (completed, checked in or no-show; the registration date for a patient
who never had one) is more than `patient_records_years_after_last_visit` years ago, nothing
is booked ahead, and the record is not de-identified already. A legal hold spares the record
and is reported, so someone sees what is being kept and why.

De-identification happens in place: sealed PHI, blind indexes and contact preferences (no
one can be contacted any more) are cleared; the id, referral pointers (ids, not PHI), sex
and pronouns, and the visit history stay, so analytics and the referral graph still add up.
Nothing is decrypted: the values are simply dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.audit import AuditEntry, append
from clinicflow.infra.outbox import Event, record
from clinicflow.patients.tables import PHI_COLUMNS, patients, visits

__all__ = ["BATCH", "Batch", "PatientsDue", "deidentify_batch", "due"]

BATCH = 500
DEIDENTIFIED = "deidentified"
# Visits that count as contact with the clinic, and bookings that are still ahead.
VISITED = ("completed", "checked_in", "no_show")
UPCOMING = ("held", "confirmed")

p, v = patients.c, visits.c


@dataclass(frozen=True, slots=True)
class PatientsDue:
    due: list[str]  # ids, in id order
    spared_legal_hold: list[str]  # idle long enough, but under legal hold


@dataclass(frozen=True, slots=True)
class Batch:
    deidentified: list[str]
    next_after: str | None  # the id to continue after; None when nothing is left


def _idle(policy: RetentionPolicy, now: datetime) -> list[ColumnElement[bool]]:
    cutoff = policy.patient_cutoff(now)
    mine = v.patient_id == p.id
    # "Last visit before the cutoff" is "no counted visit since": no MAX over a GROUP BY.
    recent = exists().where(mine, v.status.in_(VISITED), v.start_at >= cutoff)
    visited = exists().where(mine, v.status.in_(VISITED))
    ahead = exists().where(mine, v.status.in_(UPCOMING), v.start_at > now)
    return [p.status != DEIDENTIFIED, ~recent, or_(visited, p.created_at < cutoff), ~ahead]


async def due(conn: AsyncConnection, policy: RetentionPolicy, now: datetime) -> PatientsDue:
    query = select(p.id, p.legal_hold).where(*_idle(policy, now)).order_by(p.id)
    rows = (await conn.execute(query)).all()
    return PatientsDue(
        due=[row.id for row in rows if not row.legal_hold],
        spared_legal_hold=[row.id for row in rows if row.legal_hold],
    )


async def deidentify_batch(
    conn: AsyncConnection,
    policy: RetentionPolicy,
    now: datetime,
    *,
    after: str = "",
    limit: int = BATCH,
) -> Batch:
    """De-identify up to `limit` due patients with ids after `after`, in the caller's write
    transaction, each with its audit row.

    The rule is evaluated here and again in the UPDATE itself, and the rows are locked on
    PostgreSQL: a patient who booked or was put under legal hold meanwhile is left alone."""
    rule = [*_idle(policy, now), p.legal_hold == false()]
    candidates = list(
        (
            await conn.execute(
                select(p.id)
                .where(*rule, p.id > after)
                .order_by(p.id)
                .limit(limit)
                .with_for_update()
            )
        ).scalars()
    )
    if not candidates:
        return Batch([], None)
    changed = (
        await conn.execute(
            update(patients).where(p.id.in_(candidates), *rule).values(_erased(now)).returning(p.id)
        )
    ).scalars()
    done = sorted(changed)
    for patient_id in done:
        entry = AuditEntry(
            actor_type="system",
            actor_id="retention",
            role="system",
            action="deidentify",
            resource_type="patient",
            resource_id=patient_id,
            patient_id=patient_id,
        )
        await append(conn, entry, now)
    # Other contexts drop what they keep about the person (e.g. their browsers for push).
    await record(conn, *(_deidentified(patient_id, now) for patient_id in done))
    # A short batch was the last one: no need for another transaction to find nothing.
    return Batch(done, candidates[-1] if len(candidates) == limit else None)


def _deidentified(patient_id: str, now: datetime) -> Event:
    return Event(
        type="patient.deidentified",
        aggregate_type="patient",
        aggregate_id=patient_id,
        occurred_at=now,
        payload={"patient_id": patient_id},
    )


def _erased(now: datetime) -> dict[str, Any]:
    cleared: dict[str, Any] = dict.fromkeys(PHI_COLUMNS)  # notes_enc is among them
    return cleared | {
        "email_bidx": None,
        "phone_bidx": None,
        "contact_prefs": {},
        "status": DEIDENTIFIED,
        "deidentified_at": now,
        "updated_at": now,
        "version": p.version + 1,
    }
