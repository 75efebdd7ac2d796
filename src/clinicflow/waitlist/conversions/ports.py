"""What the links a claim moves on share (launch invitations, freed-slot offers), as the use
cases see their repositories; each aggregate's port adds its own (`launches.ports`,
`offers.ports`). Status changes are conditional: a link that changed meanwhile (withdrawn,
claimed) is left alone, and the caller learns it (False)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol, TypeVar

from clinicflow.waitlist.domain.links import Invitation, Offer

R = TypeVar("R", Invitation, Offer)  # a link a claim moves on


class LinkStatuses(Protocol):
    """An invitation's or an offer's repository, as a claim moves the link on."""

    async def set_status(
        self, row_id: str, /, from_: Collection[str], to: str, now: datetime
    ) -> bool: ...

    async def set_claimed(
        self, row_id: str, /, from_: Collection[str], booking_id: str, now: datetime
    ) -> bool:
        """Moved on to claimed, naming the booking the claim made."""
        ...


class LinkRepository(LinkStatuses, Protocol[R]):
    async def by_token(self, token_hash: str, *, lock: bool = False) -> R | None: ...

    async def stale_claims(self, before: datetime, limit: int) -> list[R]:
        """Claims started before `before` that never finished (a process stopped)."""
        ...
