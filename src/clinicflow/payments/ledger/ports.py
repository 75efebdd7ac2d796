"""The ledger and the package credits, as the use cases see them. The ledger is only ever
appended to; credits move between 0 and what was bought."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from clinicflow.payments.domain import Credit
from clinicflow.payments.domain.ledger import Entry
from clinicflow.payments.domain.reconcile import Booked
from clinicflow.payments.ledger.views import RevenueRow


class LedgerEntries(Protocol):
    async def append(self, entries: Sequence[Entry]) -> int:
        """New entries only (one whose entry_key is there already is the same fact, left
        out); how many went in."""
        ...

    async def refunded_by_line(self, order_id: str) -> dict[int, int]:
        """Cents refunded so far per line of the order (positive)."""
        ...


class Credits(Protocol):
    async def of_patient(self, patient_id: str) -> tuple[Credit, ...]:
        """The patient's credits, the soonest to expire first."""
        ...

    async def add(
        self, granted: Sequence[Credit], patient_id: str, order_id: str, now: datetime
    ) -> None:
        """Credits bought by `order_id` (one stored already is left as it is)."""
        ...

    async def reserve(self, credit_id: str, order_id: str, booking_id: str, now: datetime) -> bool:
        """One visit off a stored credit for this order's booking; False when none is left."""
        ...

    async def use(self, credit_id: str, order_id: str, booking_id: str, now: datetime) -> None:
        """A visit of a credit this same order bought, used at once."""
        ...

    async def settle_uses(self, order_id: str, state: str, now: datetime) -> list[str]:
        """The order's reserved uses become `state` (used, released); their credit ids."""
        ...

    async def return_use(self, order_id: str, booking_id: str, now: datetime) -> None:
        """The use for this booking is returned (its visit is given back)."""
        ...

    async def give_back(self, credit_ids: Iterable[str], now: datetime) -> None:
        """One visit back to each credit (never above what was bought)."""
        ...

    async def revoke(self, order_id: str, now: datetime) -> int:
        """The unused visits of the credits this order bought are gone; how many."""
        ...


class LedgerReports(Protocol):
    """Read models over the ledger."""

    async def revenue(self, lo: datetime, hi: datetime, tz: ZoneInfo) -> list[RevenueRow]:
        """Money entries in [lo, hi) summed per local day (in `tz`) and service."""
        ...

    async def booked(self, providers: Collection[str], since: datetime) -> list[Booked]:
        """Per provider payment with an entry since `since`: its charges and refunds."""
        ...
