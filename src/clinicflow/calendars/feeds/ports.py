"""What the practitioners' feeds need from outside: booking's visits of one practitioner
(read in the feed's own transaction, wired in bootstrap over booking's read model), and
their own unit of work with the tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clinicflow.infra.unit_of_work import Transaction


@dataclass(frozen=True, slots=True)
class FeedVisit:
    """A booking of the practitioner as the feed needs it: no patient."""

    booking_id: str
    service: str  # the catalog's key
    start: datetime  # aware UTC
    end: datetime
    cancelled: bool
    updated_at: datetime  # the row's last change


class FeedBookings(Protocol):
    async def of(
        self, practitioner: str, start: datetime, end: datetime, cancelled_since: datetime
    ) -> list[FeedVisit]:
        """The practitioner's visits overlapping [start, end) that are booked (confirmed,
        checked in, completed, no-show), and those cancelled at or after `cancelled_since`;
        soonest first. Holds are not bookings yet, and are left out."""
        ...


class FeedTokens(Protocol):
    async def digest(self, practitioner: str) -> str | None:
        """The SHA-256 (hex) of the practitioner's token; None when they have none."""
        ...

    async def put(self, practitioner: str, digest: str, now: datetime) -> bool:
        """Stores the digest as the practitioner's only token; True when it replaced one."""
        ...

    async def remove(self, practitioner: str) -> bool:
        """Deletes the practitioner's token; True when there was one."""
        ...


class FeedsUnitOfWork(Transaction, Protocol):
    @property
    def tokens(self) -> FeedTokens: ...

    @property
    def bookings(self) -> FeedBookings: ...
