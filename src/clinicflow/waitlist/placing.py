"""What every way off the list into a visit shares (an invitation or offer claimed, a staff
conversion): the person's details for booking, and the record of the booking on the entry.

A claim runs in three short transactions, so booking's own use case (its own transaction,
its own checks) can sit in the middle: (1) lock the link and mark it `claiming` — a second
claim of the same link now waits for this one and then gets 409; (2) book through booking;
(3) record the booking on the entry, with the `waitlist.converted` event. If (2) fails, the
link goes back to open; if the process stops between (2) and (3), the jobs finish or reopen
the claim once it is stale.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.outbox import record
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor
from clinicflow.waitlist import links_repo as links
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.cipher import WaitlistCipher
from clinicflow.waitlist.domain.states import Status
from clinicflow.waitlist.errors import LinkClosed
from clinicflow.waitlist.events import waitlist_event
from clinicflow.waitlist.guard import WaitlistGuard, access
from clinicflow.waitlist.ports import Booked


def person(cipher: WaitlistCipher, row: Any) -> PatientDetails:
    """The details booking matches or creates the patient from (decrypted: audit the read)."""
    return PatientDetails(
        first_name=cipher.open(row.first_name_enc, "first_name", row.id) or "",
        last_name=cipher.open(row.last_name_enc, "last_name", row.id) or "",
        email=cipher.open(row.email_enc, "email", row.id),
        phone=cipher.open(row.phone_enc, "phone", row.id),
    )


async def details_for_booking(
    conn: AsyncConnection,
    guard: WaitlistGuard,
    cipher: WaitlistCipher,
    actor: Actor,
    row: Any,
    action: str,
) -> PatientDetails:
    if row.first_name_enc is None:
        raise LinkClosed("this entry's details were erased, so it cannot book; join again")
    await guard.trail.record(conn, actor, action, [access(row)])
    return person(cipher, row)


async def record_booked(
    conn: AsyncConnection,
    entry_id: str,
    from_: Collection[str],
    booked: Booked,
    via: str,
    now: datetime,
) -> Any | None:
    """The entry moved to booked with its patient and booking, or None if it had left
    `from_` meanwhile (withdrawn …)."""
    row = await links.move(
        conn,
        entry_id,
        from_,
        Status.BOOKED,
        now,
        patient_id=booked.patient_id,
        booking_id=booked.id,
    )
    if row is None:
        return None
    await repo.stamp(conn, entry_id, "booked", now)
    await record(
        conn,
        waitlist_event(
            "converted",
            row,
            now,
            via=via,
            booking_id=booked.id,
            patient_id=booked.patient_id,
            start=booked.start.isoformat(),
        ),
    )
    return await links.entry(conn, entry_id)


def booking_actor(actor: Actor) -> Actor:
    """Who books a claim: the caller, but never as a signed-in patient booking for
    themselves — the link's entry decides who the visit is for."""
    if actor.patient_id is None:
        return actor
    return replace(actor, patient_id=None)
