"""The notifications context's unit of work: one transaction (infra/unit_of_work.py) with the
messages, the reminders, the push subscriptions, and, in the same transaction, the patients'
contact book and booking's word on a booking (through their contexts' public surfaces)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import BookingNow, booking_now
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import OnConnection, UnitOfWork, on_connection
from clinicflow.notifications.messages.queries import SqlMessageLog
from clinicflow.notifications.messages.repository import SqlMessages
from clinicflow.notifications.push.repository import SqlPushSubscriptions
from clinicflow.notifications.reminders.repository import SqlReminders
from clinicflow.patients import BoundContactBook, ContactBook


class SqlBookings:
    """A booking as it stands at this instant: the events that would carry its state may
    still be in flight."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def now(self, booking_id: str) -> BookingNow | None:
        return await booking_now(self._conn, booking_id)


class SqlNotificationsUnitOfWork(UnitOfWork):
    def __init__(self, db: Database, *, write: bool = True, keys: KeyRing) -> None:
        super().__init__(db, write=write)
        self._keys = keys
        self._book = ContactBook(keys)

    def _push(self, conn: AsyncConnection) -> SqlPushSubscriptions:
        return SqlPushSubscriptions(conn, self._keys)

    def _contacts(self, conn: AsyncConnection) -> BoundContactBook:
        """A patient's addresses, opened for the moment of sending (a PHI read: the use
        case audits it)."""
        return self._book.on(conn)

    messages = on_connection(SqlMessages)
    message_log = on_connection(SqlMessageLog)
    reminders = on_connection(SqlReminders)
    push = OnConnection(_push)
    contacts = OnConnection(_contacts)
    bookings = on_connection(SqlBookings)
