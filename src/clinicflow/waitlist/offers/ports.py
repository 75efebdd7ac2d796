"""Freed-slot offers' repository, as the use cases see it (`uow.offers`). Status changes
are conditional: an offer that changed meanwhile is left alone, and the caller learns it
(False). The database keeps one live offer per hold."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clinicflow.waitlist.domain.entry import Windows
from clinicflow.waitlist.domain.links import Offer


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting entry a freed slot may suit: what matching needs, nothing that identifies."""

    id: str
    preferred_practitioner: str | None
    preferred_times: Windows
    patient_id: str | None


class OfferRepository(Protocol):
    async def by_token(self, token_hash: str, *, lock: bool = False) -> Offer | None: ...

    async def add(self, offer: Offer) -> None: ...

    async def set_status(
        self,
        offer_id: str,
        from_: Collection[str],
        to: str,
        now: datetime,
        *,
        booking_id: str | None = None,
    ) -> bool: ...

    async def candidates(
        self, service: str, practitioner: str, hold_id: str, not_patient: str | None
    ) -> list[Candidate]:
        """Waiting entries of `service` that take this practitioner (or any), were not
        offered this hold before, and are not `not_patient` (whose visit freed it);
        preferred times are for the caller to check."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Offer]:
        """Open offers past their time, locked, the oldest first."""
        ...

    async def stale_claims(self, before: datetime, limit: int) -> list[Offer]:
        """Claims started before `before` that never finished (a process stopped)."""
        ...

    async def live_of(self, entry_id: str) -> list[Offer]:
        """The entry's open offers (made)."""
        ...
