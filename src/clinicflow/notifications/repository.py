"""The notifications context's unit of work: one transaction (infra/unit_of_work.py) with the
messages, the reminders, the push subscriptions, and, in the same transaction, the patients'
contact book and booking's word on a booking (through their contexts' public surfaces)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import BookingNow, booking_now
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import TransactionClosed, UnitOfWork
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
        self._repos: _Repositories | None = None

    def _open(self, conn: AsyncConnection) -> None:
        self._repos = _Repositories(conn, self._keys, self._book)

    @property
    def _open_repos(self) -> _Repositories:
        if self._repos is None or self._conn is None:
            raise TransactionClosed("the unit of work is not open: use `async with uow:`")
        return self._repos

    @property
    def messages(self) -> SqlMessages:
        return self._open_repos.messages

    @property
    def message_log(self) -> SqlMessageLog:
        return self._open_repos.message_log

    @property
    def reminders(self) -> SqlReminders:
        return self._open_repos.reminders

    @property
    def push(self) -> SqlPushSubscriptions:
        return self._open_repos.push

    @property
    def contacts(self) -> BoundContactBook:
        """A patient's addresses, opened for the moment of sending (a PHI read: the use
        case audits it)."""
        return self._open_repos.contacts

    @property
    def bookings(self) -> SqlBookings:
        return self._open_repos.bookings


class _Repositories:
    __slots__ = ("bookings", "contacts", "message_log", "messages", "push", "reminders")

    def __init__(self, conn: AsyncConnection, keys: KeyRing, book: ContactBook) -> None:
        self.messages = SqlMessages(conn)
        self.message_log = SqlMessageLog(conn)
        self.reminders = SqlReminders(conn)
        self.push = SqlPushSubscriptions(conn, keys)
        self.contacts = book.on(conn)
        self.bookings = SqlBookings(conn)
