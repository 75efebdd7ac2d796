"""The payments routes: each aggregate's router, in the order they match
(`/payments/revenue` before `/payments/{payment_id}`), the gateways' signed webhooks last
(they take no credentials of ours: `WEBHOOK_ROUTES`)."""

from __future__ import annotations

from fastapi import APIRouter

from clinicflow.payments.checkout.api import router as checkout
from clinicflow.payments.gateway_events.api import ROUTES as WEBHOOK_ROUTES
from clinicflow.payments.gateway_events.api import router as gateway_events
from clinicflow.payments.ledger.api import router as ledger
from clinicflow.payments.orders.api import router as orders
from clinicflow.payments.quotes.api import router as quotes
from clinicflow.payments.receipts.api import router as receipts
from clinicflow.payments.refunds.api import router as refunds

ROUTERS: tuple[APIRouter, ...] = (
    quotes,
    checkout,
    ledger,
    orders,
    refunds,
    receipts,
    gateway_events,
)

__all__ = ["ROUTERS", "WEBHOOK_ROUTES"]
