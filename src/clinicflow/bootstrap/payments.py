"""The payments context's wiring: gateways from settings, and the ports onto booking."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from clinicflow.adapters._resilience import CircuitBreaker
from clinicflow.booking.handlers import BookingService
from clinicflow.bootstrap._ports import BookingDeskAdapter
from clinicflow.bootstrap._providers import payment_gateways
from clinicflow.bootstrap.core import Core
from clinicflow.flags import FlagService
from clinicflow.patients import PatientNames
from clinicflow.payments.wiring import Payments, build_payments


@dataclass(frozen=True)
class PaymentParts:
    payments: Payments
    breakers: list[CircuitBreaker]  # the gateways', for metrics


def wire_payments(
    core: Core, *, bookings: BookingService, names: PatientNames, flags: FlagService
) -> PaymentParts:
    gateways, real, breakers = payment_gateways(core.settings, core.http, core.clock)
    payments = build_payments(
        db=core.db,
        clock=core.clock,
        catalog=core.catalog,
        trail=core.trail,
        launches=core.launches.refresh,
        gateways=gateways,
        bookings=BookingDeskAdapter(db=core.db, clock=core.clock, bookings=bookings),
        names=names,
        reconcilable=real,
        backup_allowed=lambda: flags.is_enabled("paypal_backup"),
        secret=hmac.new(core.keys.index_key, b"payments-idempotency", hashlib.sha256).digest(),
    )
    return PaymentParts(payments=payments, breakers=list(breakers))
