"""Merging a duplicate record into the one that survives.

Everything that points at the duplicate moves: bookings (through booking's reassigner),
visit history, enrollments (the earlier `since` wins), referrals. Contact details and
demographics the survivor lacks are copied over; the duplicate keeps its sealed values for
the trace but loses its blind indexes, so lookups find only the survivor. A `patients_merge`
row records who merged what into what, and how much moved.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.errors import MergeConflict
from clinicflow.patients.ports import BookingReassigner
from clinicflow.patients.tables import enrollments, merges, patients, visits

FILLABLE = (
    "email_enc",
    "phone_enc",
    "birth_date_enc",
    "address_enc",
    "notes_enc",
    "sex",
    "pronouns",
    "referral_source",
    "referred_by_patient_id",
    "referred_by_practitioner",
    "referral_campaign",
)
SEALED = {c for c in FILLABLE if c.endswith("_enc")}


async def merge_records(
    conn: AsyncConnection,
    bookings: BookingReassigner,
    cipher: PatientCipher,
    rows: tuple[Any, Any],
    actor_id: str,
    now: datetime,
) -> dict[str, int]:
    source, target = rows
    try:
        moved_bookings = await bookings.reassign(conn, source.id, target.id)
    except IntegrityError as exc:
        raise MergeConflict(
            "the two records have visits at overlapping times; cancel or move one of them, "
            "then merge again"
        ) from exc
    moved = {
        "bookings": moved_bookings,
        "visits": await _move(conn, visits, visits.c.patient_id, source.id, target.id),
        "enrollments": await _merge_enrollments(conn, source.id, target.id),
        "referrals": await _move(
            conn, patients, patients.c.referred_by_patient_id, source.id, target.id
        ),
    }
    await _absorb(conn, cipher, source, target, now)
    await conn.execute(
        insert(merges).values(
            id=str(uuid.uuid4()),
            source_id=source.id,
            target_id=target.id,
            actor_id=actor_id[:64],
            moved=moved,
            merged_at=now,
        )
    )
    return moved


async def _move(
    conn: AsyncConnection, table: Any, column: Any, source_id: str, target_id: str
) -> int:
    result = await conn.execute(
        update(table).where(column == source_id).values({column: target_id})
    )
    return int(result.rowcount)


async def _merge_enrollments(conn: AsyncConnection, source_id: str, target_id: str) -> int:
    e = enrollments.c
    rows = (await conn.execute(select(enrollments).where(e.patient_id == source_id))).all()
    kept = {
        r.service: r
        for r in (await conn.execute(select(enrollments).where(e.patient_id == target_id))).all()
    }
    await conn.execute(delete(enrollments).where(e.patient_id == source_id))
    for row in rows:
        mine = kept.get(row.service)
        if mine is None:
            await conn.execute(
                insert(enrollments).values({**row._asdict(), "patient_id": target_id})
            )
            continue
        since = min(row.since, mine.since)
        status = "active" if "active" in (row.status, mine.status) else mine.status
        await conn.execute(
            update(enrollments)
            .where(e.patient_id == target_id, e.service == row.service)
            .values(since=since, status=status, updated_at=max(row.updated_at, mine.updated_at))
        )
    return len(rows)


async def _absorb(
    conn: AsyncConnection, cipher: PatientCipher, source: Any, target: Any, now: datetime
) -> None:
    gaps = {c: getattr(source, c) for c in FILLABLE if getattr(target, c) is None}
    for column in SEALED & gaps.keys():
        # Sealed values are bound to their record: copied over, they are sealed anew.
        gaps[column] = cipher.move(gaps[column], column, source.id, target.id)
    # The duplicate's indexes go first: the survivor may take over its email's index.
    await conn.execute(
        update(patients)
        .where(patients.c.id == source.id)
        .values(
            status="merged",
            merged_into=target.id,
            email_bidx=None,
            phone_bidx=None,
            legal_hold=source.legal_hold,
            updated_at=now,
            version=source.version + 1,
        )
    )
    if "email_enc" in gaps and source.email_bidx is not None:
        gaps["email_bidx"] = source.email_bidx
    if "phone_enc" in gaps and source.phone_bidx is not None:
        gaps["phone_bidx"] = source.phone_bidx
    merged_prefs = {**(source.contact_prefs or {}), **(target.contact_prefs or {})}
    await conn.execute(
        update(patients)
        .where(patients.c.id == target.id)
        .values(
            **gaps,
            contact_prefs=merged_prefs,
            legal_hold=bool(target.legal_hold or source.legal_hold),
            updated_at=now,
            version=target.version + 1,
        )
    )
