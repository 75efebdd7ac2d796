"""Write-side queries for messages and reminders. Inserts are idempotent on the unique keys,
so a redelivered event (or a second worker) adds nothing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
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


async def unsent_of(conn: AsyncConnection, event_id: str) -> list[Any]:
    """Queued messages, and failed ones no provider took. A message the provider accepted
    and later reported failed (undelivered, bounced) is not sent again when the event is
    redelivered: the same address would most likely fail the same way."""
    return [
        r
        for r in await messages_of(conn, event_id)
        if r.status == "queued" or (r.status == "failed" and r.provider_id is None)
    ]


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


async def mark(conn: AsyncConnection, message_id: str, now: datetime, **values: Any) -> None:
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(updated_at=now, **values)
    )


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


async def stale_reminder_events(
    conn: AsyncConnection, now: datetime, after: timedelta
) -> list[str]:
    """Reminder messages claimed but never sent (the worker stopped between claiming and
    sending): their events are sent again."""
    query = (
        select(messages.c.event_id)
        .where(
            messages.c.status == "queued",
            messages.c.event_id.like("reminder:%"),
            messages.c.updated_at <= now - after,
        )
        .distinct()
    )
    return [str(e) for e in (await conn.execute(query)).scalars()]
