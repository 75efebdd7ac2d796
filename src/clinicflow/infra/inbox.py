"""The inbox: which events each subscriber has handled, so a repeated delivery does nothing.

A subscriber that writes to the database handles an event inside `Inbox.handling()`, in a
unit of work: the inbox row and the handler's writes commit together, so its effect happens
exactly once even when the event is delivered twice, or twice at the same time (the second
insert of the same key waits for the first transaction, then finds the row). A subscriber
with effects outside the database (mail, HTTP) gets the inbox row written after it returns:
at least once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.bus import Envelope
from clinicflow.infra.columns import instant, uuid_ref
from clinicflow.infra.db import Database, insert_ignoring_duplicates, metadata
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.shared.clock import Clock

U = TypeVar("U", bound=UnitOfWork)

inbox = Table(
    "infra_inbox",
    metadata,
    Column("subscriber", String(64), nullable=False),
    uuid_ref("event_id"),
    instant("handled_at"),
    PrimaryKeyConstraint("subscriber", "event_id"),
)


class Inbox:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    @property
    def db(self) -> Database:
        """The database the inbox is kept in: a subscriber's unit of work opens on it."""
        return self._db

    @asynccontextmanager
    async def handling(self, subscriber: str, event: Envelope, uow: U) -> AsyncIterator[U | None]:
        """`uow` (the subscriber's unit of work, not yet open) opened for handling `event`
        once, and committed as the block ends: None when the event was handled before.

        Raise inside the block to roll back both the effect and the inbox row (the event is
        then retried)."""
        async with uow:
            first = await mark_handled(uow.connection, subscriber, event.event_id, self._clock)
            yield uow if first else None
            await uow.commit()

    async def seen(self, subscriber: str, event_id: str) -> bool:
        async with self._db.read() as conn:
            return await was_handled(conn, subscriber, event_id)


async def mark_handled(conn: AsyncConnection, subscriber: str, event_id: str, clock: Clock) -> bool:
    """Record the event as handled; False when it already was."""
    row = {"subscriber": subscriber, "event_id": event_id, "handled_at": clock.now()}
    return await insert_ignoring_duplicates(conn, inbox, [row]) == 1


async def was_handled(conn: AsyncConnection, subscriber: str, event_id: str) -> bool:
    query = select(inbox.c.event_id).where(
        inbox.c.subscriber == subscriber, inbox.c.event_id == event_id
    )
    return (await conn.execute(query)).first() is not None
