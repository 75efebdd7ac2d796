"""The messages as staff and patients list them (GET /v1/notifications): newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.notifications.domain.messages import Message
from clinicflow.notifications.messages.repository import message_of
from clinicflow.notifications.tables import messages


class SqlMessageLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def listed(self, patient_id: str | None, status: str | None, limit: int) -> list[Message]:
        query = select(messages).order_by(messages.c.created_at.desc(), messages.c.id)
        if patient_id is not None:
            query = query.where(messages.c.patient_id == patient_id)
        if status is not None:
            query = query.where(messages.c.status == status)
        found = await self._conn.execute(query.limit(limit))
        return [message_of(r) for r in found.mappings()]
