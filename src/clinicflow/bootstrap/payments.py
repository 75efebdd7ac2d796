"""The payments context's wiring: gateways from settings, its unit of work (with booking's
visits and patients' names read on its connection), the port onto booking's use cases, and
each use case built by keyword."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.adapters._resilience import CircuitBreaker
from clinicflow.booking.service import BookingService
from clinicflow.bootstrap._ports import BookingDeskAdapter, BookingVisits
from clinicflow.bootstrap._providers import payment_gateways
from clinicflow.bootstrap.core import Core
from clinicflow.catalog import Catalog
from clinicflow.flags import FlagService
from clinicflow.infra.unit_of_work import Factory, UnitsOfWork
from clinicflow.patients import PatientNames
from clinicflow.payments.checkout.service import CheckoutService
from clinicflow.payments.gateway_events.service import WebhookProcessor
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.idempotency_keys.service import IdempotencyKeys
from clinicflow.payments.ledger.jobs import Reconciler
from clinicflow.payments.ledger.service import RevenueReader, Settlement
from clinicflow.payments.orders.service import OrderService
from clinicflow.payments.ports import BookingDesk, PaymentGateway, PaymentsUnitOfWork
from clinicflow.payments.quotes.service import Quoter, QuoteService
from clinicflow.payments.receipts.service import ReceiptService
from clinicflow.payments.refunds.service import RefundService
from clinicflow.payments.refunds.subscribers import PaymentsSubscriber
from clinicflow.payments.repository import SqlPaymentsUnitOfWork
from clinicflow.shared.clock import Clock


@dataclass(frozen=True)
class Payments:
    quotes: QuoteService
    checkout: CheckoutService
    orders: OrderService
    refunds: RefundService
    receipts: ReceiptService
    revenue: RevenueReader
    webhooks: WebhookProcessor
    settlement: Settlement
    subscriber: PaymentsSubscriber
    reconciler: Reconciler
    gateways: Mapping[str, PaymentGateway]  # by method: "stripe", "paypal"


@dataclass(frozen=True)
class PaymentParts:
    payments: Payments
    breakers: list[CircuitBreaker]  # the gateways', for metrics


def wire_payments(
    core: Core, *, bookings: BookingService, names: PatientNames, flags: FlagService
) -> PaymentParts:
    """The gateways by method; the reconciler compares only the real ones (the in-memory
    demo gateway forgets on restart); `paypal_backup` decides whether one gateway may stand
    in for another that is down; an HMAC key of its own fingerprints Idempotency-Key
    requests."""
    db, clock, catalog = core.db, core.clock, core.catalog
    gateways, real, breakers = payment_gateways(core.settings, core.http, clock)

    def visits(conn: AsyncConnection) -> BookingVisits:
        return BookingVisits(conn, clock)

    uow = Factory(db, partial(SqlPaymentsUnitOfWork, visits=visits, names=names.on))
    guard = PaymentGuard(trail=core.trail, clock=clock)
    secret = hmac.new(core.keys.index_key, b"payments-idempotency", hashlib.sha256).digest()
    keys = IdempotencyKeys(secret=secret, uow=uow)
    quoter = Quoter(catalog=catalog, launches=core.launches.refresh)
    payments = payments_over(
        uow,
        clock,
        catalog,
        guard=guard,
        desk=BookingDeskAdapter(db=db, clock=clock, bookings=bookings),
        gateways=gateways,
        reconciled=real,
        keys=keys,
        quoter=quoter,
        backup_allowed=lambda: flags.is_enabled("paypal_backup"),
    )
    return PaymentParts(payments=payments, breakers=list(breakers))


def payments_over(
    uow: UnitsOfWork[PaymentsUnitOfWork],
    clock: Clock,
    catalog: Catalog,
    *,
    guard: PaymentGuard,
    desk: BookingDesk,
    gateways: Mapping[str, PaymentGateway],
    reconciled: Mapping[str, PaymentGateway],
    keys: IdempotencyKeys,
    quoter: Quoter,
    backup_allowed: Callable[[], Awaitable[bool]] | None,
) -> Payments:
    """Every payments use case over `uow` and these ports, each built by keyword (the unit
    tests' in-memory payments are built here too); the reconciler compares `reconciled`."""
    refunds = RefundService(
        uow=uow, clock=clock, catalog=catalog, guard=guard, gateways=gateways, keys=keys
    )
    settlement = Settlement(
        uow=uow, clock=clock, catalog=catalog, desk=desk, guard=guard, refunds=refunds
    )
    checkout = CheckoutService(
        uow=uow,
        clock=clock,
        catalog=catalog,
        guard=guard,
        gateways=gateways,
        settlement=settlement,
        keys=keys,
        quoter=quoter,
        backup_allowed=backup_allowed,
    )
    orders = OrderService(
        uow=uow, clock=clock, guard=guard, checkout=checkout, settlement=settlement
    )
    return Payments(
        quotes=QuoteService(uow=uow, clock=clock, guard=guard, quoter=quoter),
        checkout=checkout,
        orders=orders,
        refunds=refunds,
        receipts=ReceiptService(uow=uow, clock=clock, catalog=catalog, guard=guard),
        revenue=RevenueReader(uow=uow, catalog=catalog, guard=guard),
        webhooks=WebhookProcessor(
            uow=uow, clock=clock, gateways=gateways, settlement=settlement, orders=orders
        ),
        settlement=settlement,
        subscriber=PaymentsSubscriber(refunds=refunds),
        reconciler=Reconciler(uow=uow, gateways=dict(reconciled)),
        gateways=gateways,
    )
