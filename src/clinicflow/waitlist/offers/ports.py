"""Freed-slot offers' repository, as the use cases see it (`uow.offers`); what offers
share with invitations (by token, conditional status changes, stale claims) is
`conversions.ports.LinkRepository`. The database keeps one live offer per hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clinicflow.waitlist.conversions.ports import LinkRepository
from clinicflow.waitlist.domain.entry import Windows
from clinicflow.waitlist.domain.links import Offer


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting entry a freed slot may suit: what matching needs, nothing that identifies."""

    id: str
    preferred_practitioner: str | None
    preferred_times: Windows
    patient_id: str | None


class OfferRepository(LinkRepository[Offer], Protocol):
    async def add(self, offer: Offer) -> None: ...

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

    async def live_of(self, entry_id: str) -> list[Offer]:
        """The entry's open offers (made)."""
        ...
