"""Write-side queries for messages and reminders. Inserts are idempotent on the unique keys,
so a redelivered event (or a second worker) adds nothing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.notifications.domain.schedule import Reminder
from clinicflow.notifications.tables import messages, reminders


def message_row(
    event_id: str,
    patient_id: str,
    booking_id: str | None,
    channel: str,
    template: str,
    facts: Mapping[str, Any],
    now: datetime,
    skip_reason: str | None,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "event_id": event_id,
        "patient_id": patient_id,
        "booking_id": booking_id,
        "channel": channel,
        "template": template,
        "status": "skipped" if skip_reason else "queued",
        "reason": skip_reason,
        "facts": dict(facts),
        "created_at": now,
        "updated_at": now,
    }


async def messages_of(conn: AsyncConnection, event_id: str) -> list[Any]:
    query = select(messages).where(messages.c.event_id == event_id).order_by(messages.c.template)
    return list((await conn.execute(query)).all())


def sendable(row: Any, abandoned_before: datetime) -> bool:
    """Queued; failed with no provider having taken it; or claimed (`sending`) by a worker
    that has not finished for so long that it must have died. A message the provider accepted
    and later reported failed (undelivered, bounced) is not sent again when the event is
    redelivered: the same address would most likely fail the same way."""
    if row.status == "sending":
        return bool(row.updated_at <= abandoned_before)
    return row.status == "queued" or (row.status == "failed" and row.provider_id is None)


def _sendable_clause(abandoned_before: datetime) -> ColumnElement[bool]:
    c = messages.c
    return or_(
        c.status == "queued",
        and_(c.status == "failed", c.provider_id.is_(None)),
        and_(c.status == "sending", c.updated_at <= abandoned_before),
    )


async def unsent_of(conn: AsyncConnection, event_id: str, abandoned_before: datetime) -> list[Any]:
    return [r for r in await messages_of(conn, event_id) if sendable(r, abandoned_before)]


async def claim(
    conn: AsyncConnection, message_id: str, now: datetime, abandoned_before: datetime
) -> bool:
    """Take the message for sending (status `sending`) if it is still sendable; whether this
    caller won it. One conditional update, so of two workers only one wins: PostgreSQL
    re-checks the condition on the row the other just changed, SQLite has one writer."""
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, _sendable_clause(abandoned_before))
        .values(status="sending", updated_at=now)
    )
    return int(result.rowcount) == 1


async def mark_claimed(
    conn: AsyncConnection, message_id: str, now: datetime, **values: object
) -> None:
    """The outcome of a claimed message's send; a message that is no longer `sending` (a
    report already moved it on) keeps what it has."""
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.status == "sending")
        .values(updated_at=now, **values)
    )


async def abandoned_events(
    conn: AsyncConnection, abandoned_before: datetime, limit: int = 100
) -> list[str]:
    """Events with a message claimed by a worker that never finished its send, and reminder
    messages planned but never claimed (the worker stopped between planning and sending; a
    reminder has no event to be delivered again)."""
    c = messages.c
    stuck = and_(c.status == "sending", c.updated_at <= abandoned_before)
    unclaimed = and_(
        c.status == "queued", c.event_id.like("reminder:%"), c.updated_at <= abandoned_before
    )
    query = select(c.event_id).where(or_(stuck, unclaimed)).distinct().limit(limit)
    return [str(e) for e in (await conn.execute(query)).scalars()]


async def email_count(conn: AsyncConnection, booking_id: str, other_than: str) -> int:
    """How many emails this booking was sent besides this one: the invitation's SEQUENCE
    (events of one booking arrive in order, so every earlier one is counted)."""
    query = select(func.count()).where(
        messages.c.booking_id == booking_id,
        messages.c.channel == "email",
        messages.c.status.in_(("sent", "delivered")),
        messages.c.id != other_than,
    )
    return int((await conn.execute(query)).scalar_one())


# A report moves a message forward only: from these statuses to the key. Delivered and
# failed are final, so a late or repeated report ("sent" after "delivered") changes nothing.
_ADVANCES_FROM: dict[str, tuple[str, ...]] = {
    "sent": ("queued",),
    "delivered": ("queued", "sent"),
    "failed": ("queued", "sent"),
}


async def report_delivery(
    conn: AsyncConnection,
    provider: str,
    provider_ids: Sequence[str],
    status: str,
    reason: str | None,
    now: datetime,
) -> int:
    """Apply a provider's status report to the message it sent; how many rows changed
    (0 for an unknown id, a repeat, or a report that would move the status backwards)."""
    before = _ADVANCES_FROM.get(status)
    if not before or not provider_ids:
        return 0
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status == "failed":
        values["reason"] = (reason or "reported failed")[:200]
    result = await conn.execute(
        update(messages)
        .where(
            messages.c.provider == provider,
            messages.c.provider_id.in_(list(provider_ids)),
            messages.c.status.in_(before),
        )
        .values(**values)
    )
    return int(result.rowcount)


async def schedule(
    conn: AsyncConnection,
    booking_id: str,
    patient_id: str,
    start: datetime,
    planned: Sequence[Reminder],
    now: datetime,
) -> None:
    rows = [
        {
            "id": str(uuid.uuid4()),
            "booking_id": booking_id,
            "patient_id": patient_id,
            "send_at": r.send_at,
            "kind": r.kind,
            "status": "scheduled",
            "booking_start_at": start,
            "created_at": now,
            "updated_at": now,
        }
        for r in planned
    ]
    await insert_ignoring_duplicates(conn, reminders, rows)


async def cancel_reminders(
    conn: AsyncConnection, booking_id: str, now: datetime, keep_start: datetime | None = None
) -> None:
    """Cancel the booking's pending reminders, except those scheduled for `keep_start`."""
    where = [reminders.c.booking_id == booking_id, reminders.c.status == "scheduled"]
    if keep_start is not None:
        where.append(reminders.c.booking_start_at != keep_start)
    await conn.execute(update(reminders).where(*where).values(status="cancelled", updated_at=now))


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[Any]:
    """Due reminders, locked so that concurrent workers on PostgreSQL take different ones
    (SQLite serializes writers, which the write transaction already does)."""
    query = (
        select(reminders)
        .where(reminders.c.status == "scheduled", reminders.c.send_at <= now)
        .order_by(reminders.c.send_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await conn.execute(query)).all())


async def close_reminder(
    conn: AsyncConnection, reminder_id: str, status: str, now: datetime, reason: str | None
) -> None:
    await conn.execute(
        update(reminders)
        .where(reminders.c.id == reminder_id)
        .values(status=status, reason=reason, updated_at=now)
    )
