"""Builds the payments parts; bootstrap calls `build_payments` once with the gateways it
composed from the settings and its implementations of the ports (ports.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from clinicflow.catalog import Catalog
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.db import Database
from clinicflow.payments.checkout import CheckoutService
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.idempotency import RequestKeys
from clinicflow.payments.manage import PaymentDesk
from clinicflow.payments.ports import BookingDesk, PatientNames, PaymentGateway
from clinicflow.payments.quoting import Quoter
from clinicflow.payments.reads import PaymentReader
from clinicflow.payments.reconcile import Reconciler
from clinicflow.payments.refunds import RefundService
from clinicflow.payments.settlement import Settlement
from clinicflow.payments.subscriber import PaymentsSubscriber
from clinicflow.payments.webhooks import WebhookProcessor
from clinicflow.shared.clock import Clock


@dataclass(frozen=True)
class Payments:
    checkout: CheckoutService
    desk: PaymentDesk
    refunds: RefundService
    reads: PaymentReader
    webhooks: WebhookProcessor
    settlement: Settlement
    subscriber: PaymentsSubscriber
    reconciler: Reconciler
    gateways: Mapping[str, PaymentGateway]  # by method: "stripe", "paypal"


def build_payments(
    db: Database,
    clock: Clock,
    catalog: Catalog,
    trail: AuditTrail,
    *,
    launches: Callable[[], Awaitable[None]] | None = None,
    gateways: Mapping[str, PaymentGateway],
    bookings: BookingDesk,
    names: PatientNames,
    reconcilable: Mapping[str, PaymentGateway] | None = None,
    backup_allowed: Callable[[], Awaitable[bool]] | None = None,
    secret: bytes,
) -> Payments:
    """`gateways` by method; `reconcilable`: the real ones by provider (not the demo fake);
    `launches` brings the catalog's launched services up to date before a quote; `secret`
    keys the fingerprints of requests sent with an Idempotency-Key."""
    guard = PaymentGuard(trail)
    quoter = Quoter(catalog, bookings, launches)
    keys = RequestKeys(secret)
    refunds = RefundService(db, clock, catalog, bookings, guard, gateways, keys=keys)
    settlement = Settlement(db, clock, catalog, bookings, guard, refunds)
    checkout = CheckoutService(
        db, clock, catalog, bookings, guard, gateways, quoter, settlement, backup_allowed, keys=keys
    )
    desk = PaymentDesk(db, clock, guard, checkout, settlement)
    return Payments(
        checkout=checkout,
        desk=desk,
        refunds=refunds,
        reads=PaymentReader(db, clock, catalog, guard, quoter, names),
        webhooks=WebhookProcessor(db, clock, gateways, settlement, desk),
        settlement=settlement,
        subscriber=PaymentsSubscriber(refunds),
        reconciler=Reconciler(db, dict(reconcilable or {})),
        gateways=gateways,
    )
