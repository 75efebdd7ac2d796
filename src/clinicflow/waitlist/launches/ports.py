"""Launch waves' and invitations' repositories, as the use cases see them (`uow.waves`,
`uow.invitations`); what invitations share with offers (by token, conditional status
changes, stale claims) is `conversions.ports.LinkRepository`."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.waitlist.conversions.ports import LinkRepository
from clinicflow.waitlist.domain.links import Invitation


class WaveAlreadySent(Exception):
    """Another process sent this wave of the service first."""


class WaveRepository(Protocol):
    async def last(self, service: str) -> int:
        """The number of the service's latest wave; 0 before the first."""
        ...

    async def add(
        self, service: str, number: int, now: datetime, capacity: int, invited: int
    ) -> None:
        """Raises `WaveAlreadySent` when another process sent wave `number` first."""
        ...


class InvitationRepository(LinkRepository[Invitation], Protocol):
    async def add(self, invitation: Invitation) -> None: ...

    async def live_count(self, service: str, now: datetime) -> int:
        """Invitations of `service` that may still book: open and in time, or claiming."""
        ...

    async def never_invited(self, service: str) -> list[str]:
        """Waiting entries of `service` no wave has invited yet: a wave goes down the list
        once."""
        ...

    async def lapsed(self, now: datetime, limit: int) -> list[Invitation]:
        """Open invitations past their time, the oldest first."""
        ...

    async def live_of(self, entry_id: str) -> list[Invitation]:
        """The entry's invitations that may still book (sent or claiming)."""
        ...
