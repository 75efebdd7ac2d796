"""What the order use cases answer: plain data, turned into JSON by schemas.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from clinicflow.payments.domain.orders import Order, OrderLine
from clinicflow.payments.domain.quotes import QuotedOrder
from clinicflow.payments.domain.refunds import Refund
from clinicflow.payments.ports import PaymentsUnitOfWork
from clinicflow.payments.refunds.views import RefundView
from clinicflow.shared.records import from_attributes


@dataclass(frozen=True, slots=True)
class LineView:
    booking_id: str
    line_index: int
    service: str
    visit_type: str
    practitioner: str
    starts_at: datetime
    net_cents: int
    credit_id: str | None
    state: str
    confirmed_booking_id: str | None
    refunded_cents: int
    cpt_codes: tuple[str, ...]
    icd10_codes: tuple[str, ...]

    @classmethod
    def of(cls, line: OrderLine) -> LineView:
        return from_attributes(cls, line)


@dataclass(frozen=True, slots=True)
class OrderView:
    id: str
    patient_id: str
    status: str
    method: str
    tender: str | None
    provider: str | None
    provider_id: str | None
    currency: str
    quote: QuotedOrder
    subtotal_cents: int
    discount_cents: int
    total_cents: int
    refunded_cents: int
    promo_code: str | None
    failure_code: str | None
    created_at: datetime
    paid_at: datetime | None
    bookings: tuple[LineView, ...] = ()
    refunds: tuple[RefundView, ...] = ()

    @classmethod
    def of(cls, order: Order, lines: Sequence[OrderLine], refunds: Sequence[Refund]) -> OrderView:
        return from_attributes(
            cls,
            order,
            bookings=tuple(LineView.of(x) for x in lines),
            refunds=tuple(RefundView.of(x) for x in refunds),
        )

    @classmethod
    async def load(cls, uow: PaymentsUnitOfWork, order_id: str) -> OrderView:
        """The order with its lines and refunds, read in `uow`."""
        order = await uow.orders.get(order_id)
        return cls.of(order, await uow.orders.lines(order_id), await uow.refunds.of_order(order_id))
