"""The messages' SQL: rows in, `Message`s out. Inserts are idempotent on the unique key
(event, channel, template), so a redelivered event (or a second worker) adds nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.columns import stored
from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.notifications.domain.messages import (
    ADVANCES_FROM,
    DeliveryReport,
    Message,
    failure_reason,
)
from clinicflow.notifications.tables import messages

c = messages.c


def message_of(row: RowMapping) -> Message:
    return Message(**{**row, "facts": dict(row["facts"] or {})})  # columns: the fields


def sendable_clause(abandoned_before: datetime) -> ColumnElement[bool]:
    """`Message.sendable`, in SQL."""
    return or_(
        c.status == "queued",
        and_(c.status == "failed", c.provider_id.is_(None)),
        and_(c.status == "sending", c.updated_at <= abandoned_before),
    )


class SqlMessages:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_event(self, event_id: str) -> list[Message]:
        query = select(messages).where(c.event_id == event_id).order_by(c.template)
        return [message_of(r) for r in (await self._conn.execute(query)).mappings()]

    async def add(self, new: Sequence[Message]) -> None:
        await insert_ignoring_duplicates(self._conn, messages, [stored(messages, m) for m in new])

    async def claim(self, message_id: str, now: datetime, abandoned_before: datetime) -> bool:
        """One conditional update, so of two workers only one wins: PostgreSQL re-checks the
        condition on the row the other just changed, SQLite has one writer."""
        result = await self._conn.execute(
            update(messages)
            .where(c.id == message_id, sendable_clause(abandoned_before))
            .values(status="sending", updated_at=now)
        )
        return int(result.rowcount) == 1

    async def mark_sent(
        self, message_id: str, now: datetime, status: str, provider: str, provider_id: str | None
    ) -> None:
        await self._conn.execute(
            update(messages)
            .where(c.id == message_id, c.status == "sending")
            .values(
                updated_at=now,
                status=status,
                provider=provider,
                provider_id=provider_id,
                reason=None,
            )
        )

    async def mark_failed(self, message_id: str, now: datetime, reason: str) -> None:
        await self._conn.execute(
            update(messages)
            .where(c.id == message_id, c.status == "sending")
            .values(updated_at=now, status="failed", reason=reason)
        )

    async def abandoned_events(self, abandoned_before: datetime, limit: int) -> list[str]:
        """A reminder's messages have no event to be delivered again: those planned but never
        claimed (the worker stopped between planning and sending) are found here too."""
        stuck = and_(c.status == "sending", c.updated_at <= abandoned_before)
        unclaimed = and_(
            c.status == "queued", c.event_id.like("reminder:%"), c.updated_at <= abandoned_before
        )
        query = select(c.event_id).where(or_(stuck, unclaimed)).distinct().limit(limit)
        return [str(e) for e in (await self._conn.execute(query)).scalars()]

    async def email_count(self, booking_id: str, other_than: str) -> int:
        """The invitation's SEQUENCE: events of one booking arrive in order, so every
        earlier one is counted."""
        query = select(func.count()).where(
            c.booking_id == booking_id,
            c.channel == "email",
            c.status.in_(("sent", "delivered")),
            c.id != other_than,
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def report(self, report: DeliveryReport, now: datetime) -> int:
        before = ADVANCES_FROM.get(report.status)
        if not before or not report.provider_ids:
            return 0
        values: dict[str, object] = {"status": report.status, "updated_at": now}
        if report.status == "failed":
            values["reason"] = failure_reason(report.reason)
        ids = list(report.provider_ids)
        result = await self._conn.execute(
            update(messages)
            .where(c.provider == report.provider, c.provider_id.in_(ids), c.status.in_(before))
            .values(**values)
        )
        return int(result.rowcount)
