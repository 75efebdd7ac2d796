"""The orders repository, as the use cases see it: orders and the visits they pay for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypedDict

from clinicflow.payments.domain.orders import Order, OrderLine


class OrderChange(TypedDict, total=False):
    status: str
    method: str
    tender: str | None
    provider: str | None
    provider_id: str | None
    failure_code: str | None
    refunded_cents: int
    paid_at: datetime
    updated_at: datetime


class LineChange(TypedDict, total=False):
    state: str
    confirmed_booking_id: str
    refunded_cents: int
    cpt_codes: list[str]
    icd10_codes: list[str]


class Orders(Protocol):
    async def get(self, order_id: str, *, lock: bool = False) -> Order:
        """The order (locked for this transaction with `lock`); `PaymentNotFound` if none."""
        ...

    async def reported(
        self, provider: str, provider_id: str | None, order_id: str | None
    ) -> Order | None:
        """The order a gateway's report is about, locked: by its payment id, else by ours."""
        ...

    async def add(self, order: Order, lines: Sequence[OrderLine]) -> None:
        """A new order and its visit lines. `AlreadyStored` when one of the bookings is in
        another live order already (a unique index decides, whatever ran meanwhile)."""
        ...

    async def change(self, order_id: str, change: OrderChange) -> Order:
        """The order after `change`."""
        ...

    async def lines(self, order_id: str) -> list[OrderLine]:
        """The order's visit lines, in line order."""
        ...

    async def active_line(self, booking_id: str) -> OrderLine | None:
        """The live line paying for this booking (or for the hold it was booked from)."""
        ...

    async def change_line(self, order_id: str, booking_id: str, change: LineChange) -> None: ...

    async def release_lines(self, order_id: str) -> None:
        """The order's bookings are free to be paid by another order."""
        ...
