"""Nurture messages' repository, as the use cases see it (`uow.nurtures`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.waitlist.domain.entry import Entry
from clinicflow.waitlist.domain.links import NurtureMessage


class NurtureRepository(Protocol):
    async def due(self, before: datetime, limit: int) -> list[tuple[Entry, int]]:
        """Waiting entries last written to (or joined, if never) at or before `before`,
        each with how many nurture messages it had."""
        ...

    async def add(self, entry_id: str, seq: int, token_hash: str, now: datetime) -> str | None:
        """The new message's id, or None when another process sent this one first."""
        ...

    async def by_token(self, token_hash: str, *, lock: bool = False) -> NurtureMessage | None: ...

    async def mark_clicked(self, message_id: str, now: datetime) -> None:
        """The first click's time; a later click changes nothing."""
        ...
