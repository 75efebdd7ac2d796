"""What checkout answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from clinicflow.payments.orders.views import OrderView


@dataclass(frozen=True, slots=True)
class Checkout:
    """A checkout's answer. The client secret goes to the buyer's browser only: never
    stored, never logged (repr=False)."""

    order: OrderView
    client_secret: str | None = field(default=None, repr=False)
    approve_url: str | None = None
    fallback_from: str | None = None  # the method that was down when PayPal was used instead
