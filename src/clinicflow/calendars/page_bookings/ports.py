"""What the import of Calendly page bookings needs from outside: the webhook's verification
(adapters/calendars/calendly_webhooks.py), booking's use cases (wired in bootstrap), and its
own unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from clinicflow.calendars.domain.busy import Delta
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.patients import PatientDetails

InviteeEventName = Literal["invitee.created", "invitee.canceled"]


class SignatureInvalid(Exception):
    """The delivery is not Calendly's: no signature, a wrong one, or too old."""


@dataclass(frozen=True, slots=True)
class InviteeEvent:
    """One verified `invitee.*` delivery, as much of it as the import uses."""

    name: InviteeEventName
    invitee: str  # the invitee's URI: the booking's identity at Calendly
    scheduled_event: str
    event_type: str
    start: datetime  # aware UTC
    end: datetime
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    rescheduled: bool = False


class InviteeWebhooks(Protocol):
    def parse(self, headers: Mapping[str, str], body: bytes) -> InviteeEvent | None:
        """The verified event; None for an event the import does not take. Raises
        `SignatureInvalid`, or ValueError for a body that is no Calendly event."""
        ...


@dataclass(frozen=True, slots=True)
class PageVisit:
    service: str
    visit_type: str
    practitioner: str
    start: datetime
    duration: int  # minutes


class ImportDesk(Protocol):
    """Booking's use cases, acting as the clinic."""

    async def book(self, visit: PageVisit, patient: PatientDetails, key: str) -> str:
        """The booking's id (the same one again for the same `key`). Raises booking's
        domain errors (slot_unavailable, outside_working_hours …) when it cannot be made."""
        ...

    async def cancel(self, booking_id: str, reason: str) -> None: ...


class BusyChanges(Protocol):
    """The busy-time store's door for pushed changes (calendars' store, when wired): a page
    booking's time, or its removal, before the next poll brings it."""

    async def apply(self, delta: Delta) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one (invitee, event): the row that makes a repeat do nothing."""

    invitee: str
    event: str
    # received | imported | flagged | changed_here | cancelled | withdrawn | duplicate | ignored
    outcome: str
    received_at: datetime
    booking_id: str | None = None
    practitioner: str | None = None
    service: str | None = None
    visit_type: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    scheduled_event: str | None = None
    reason: str | None = None


class Deliveries(Protocol):
    async def claim(self, delivery: Delivery, stale_before: datetime) -> bool:
        """Records a delivery as received; False when it was handled before (or is being
        handled now, since `stale_before`)."""
        ...

    async def settle(self, delivery: Delivery) -> None:
        """Writes its outcome over the claim."""
        ...

    async def release(self, invitee: str, event: str) -> None:
        """Forgets a claim whose handling failed, so the redelivery runs again."""
        ...

    async def get(self, invitee: str, event: str) -> Delivery | None: ...

    async def of_booking(self, booking_id: str) -> Delivery | None:
        """The `invitee.created` delivery that imported `booking_id`, if one did."""
        ...

    async def flagged(self, limit: int) -> list[Delivery]:
        """Unresolved flags (page bookings not imported, and imported visits changed here
        while Calendly still holds them), soonest visit first."""
        ...


class PageBookingsUnitOfWork(Transaction, Protocol):
    @property
    def deliveries(self) -> Deliveries: ...
