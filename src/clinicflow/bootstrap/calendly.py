"""Calendly's wiring (issue 17): the busy-time feed, the webhook's import of page bookings
into booking's use cases, and the subscriptions `clinicflow calendly subscribe` makes.

Nothing here runs without `CLINICFLOW_CALENDLY_TOKEN`: then `feed` is None and the webhook
route refuses every delivery (403), as for an unconfigured payment gateway. The busy-time
store (calendars/) takes `feed` as one of its sources and is `CalendlyImports`' `busy` door.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from clinicflow.adapters._resilience import CircuitBreaker
from clinicflow.adapters.calendars._calendly_http import (
    CalendlyClient,
    RateGate,
    calendly_breaker,
)
from clinicflow.adapters.calendars.calendly import CalendlyFeed
from clinicflow.adapters.calendars.calendly_webhooks import (
    CalendlySubscriptions,
    CalendlyWebhooks,
)
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.service import BookingService
from clinicflow.bootstrap.core import Core
from clinicflow.calendars.domain.busy import Delta
from clinicflow.calendars.page_bookings.ports import PageVisit
from clinicflow.calendars.page_bookings.repository import SqlPageBookingsUnitOfWork
from clinicflow.calendars.page_bookings.service import CalendlyImports
from clinicflow.calendars.service import CalendarsService
from clinicflow.infra.unit_of_work import Factory
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor, Role

# Who imports and cancels page bookings: the platform, acting with the front desk's rights
# over bookings (a cancel needs them), named for the audit trail as Calendly's webhook.
CALENDLY_ACTOR = Actor(kind="system", id="webhook:calendly", role=Role.FRONT_DESK, tier="system")


@dataclass(frozen=True)
class CalendlyParts:
    feed: CalendlyFeed | None  # a BusyFeed for the busy-time store; None: not configured
    imports: CalendlyImports
    subscriptions: CalendlySubscriptions | None
    breaker: CircuitBreaker | None


def wire_calendly(
    core: Core,
    *,
    bookings: Callable[[], BookingService],
    store: Callable[[], CalendarsService] | None = None,
) -> CalendlyParts:
    """`bookings` and `store` are read when a webhook arrives: the composition root wires
    Calendly's feed before the busy-time store (a source of it) and booking."""
    settings = core.settings
    units = Factory(core.db, partial(SqlPageBookingsUnitOfWork))
    token = settings.calendly_token
    key = settings.calendly_webhook_signing_key
    webhooks = (
        CalendlyWebhooks(
            key.get_secret_value(),
            core.clock,
            tolerance=settings.calendly_webhook_tolerance_seconds,
        )
        if key is not None
        else None
    )
    imports = CalendlyImports(
        uow=units,
        catalog=core.loaded,
        clock=core.clock,
        desk=CalendlyDesk(bookings),
        webhooks=webhooks,
        busy=None if store is None else StoreDoor(store),
    )
    if token is None:
        return CalendlyParts(feed=None, imports=imports, subscriptions=None, breaker=None)
    breaker = calendly_breaker(
        threshold=settings.calendly_breaker_threshold,
        reset_after=settings.calendly_breaker_reset_seconds,
    )
    client = CalendlyClient(
        core.http,
        token.get_secret_value(),
        breaker=breaker,
        gate=RateGate(
            per_minute=settings.calendly_requests_per_minute,
            burst=min(50, settings.calendly_requests_per_minute),
            in_flight=settings.calendly_max_in_flight,
        ),
        base_url=settings.calendly_base_url,
    )
    users = {
        p.key: p.calendly.user for p in core.loaded.practitioners.values() if p.calendly is not None
    }
    feed = CalendlyFeed(
        client, users, core.clock, live_timeout=settings.calendly_live_timeout_seconds
    )
    return CalendlyParts(
        feed=feed, imports=imports, subscriptions=CalendlySubscriptions(client), breaker=breaker
    )


class CalendlyDesk:
    """The page bookings' `ImportDesk` over booking's use cases: a page booking is booked as
    the clinic books (the patient matched or created), under the invitee's idempotency key."""

    def __init__(self, bookings: Callable[[], BookingService]) -> None:
        self._bookings = bookings

    async def book(self, visit: PageVisit, patient: PatientDetails, key: str) -> str:
        slot = SlotRequest(
            visit.service, visit.visit_type, visit.duration, visit.start, visit.practitioner
        )
        view, _ = await self._bookings().book(CALENDLY_ACTOR, BookRequest(slot, patient), key)
        return view.id

    async def cancel(self, booking_id: str, reason: str) -> None:
        await self._bookings().act(CALENDLY_ACTOR, booking_id, Action.CANCEL, reason)


class StoreDoor:
    """The page bookings' `BusyChanges` over the busy-time store: a flagged page booking's
    time (or its removal) is merged before the next poll brings it."""

    def __init__(self, store: Callable[[], CalendarsService]) -> None:
        self._store = store

    async def apply(self, delta: Delta) -> None:
        await self._store().apply(delta)
