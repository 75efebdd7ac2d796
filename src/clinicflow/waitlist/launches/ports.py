"""Launch waves' and invitations' repositories, as the use cases see them (`uow.waves`,
`uow.invitations`). Status changes are conditional: a link that changed meanwhile
(withdrawn, claimed) is left alone, and the caller learns it (False)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

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


class InvitationRepository(Protocol):
    async def by_token(self, token_hash: str, *, lock: bool = False) -> Invitation | None: ...

    async def add(
        self,
        entry_id: str,
        service: str,
        wave: int,
        token_hash: str,
        now: datetime,
        expires_at: datetime,
    ) -> str:
        """The new invitation's id."""
        ...

    async def set_status(
        self,
        invitation_id: str,
        from_: Collection[str],
        to: str,
        now: datetime,
        *,
        booking_id: str | None = None,
    ) -> bool: ...

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

    async def stale_claims(self, before: datetime, limit: int) -> list[Invitation]:
        """Claims started before `before` that never finished (a process stopped)."""
        ...

    async def live_of(self, entry_id: str) -> list[Invitation]:
        """The entry's invitations that may still book (sent or claiming)."""
        ...
