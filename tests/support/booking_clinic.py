"""Booking's use cases over one in-memory booking database (`support.fake_booking`), for the
unit tests of tests/unit/booking: the clinic of config/clinic.yaml, the clock at Tuesday
2026-11-24 09:00 in the clinic (America/Chicago, UTC-6), as in the HTTP tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from clinicflow.booking.availability.service import AvailabilityService
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.calendars import TimeOffCalendar
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.service import BookingReader, BookingService
from clinicflow.booking.views import BookingView
from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.infra.outbox import Event
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import ANONYMOUS, Actor, Role, Scope
from clinicflow.shared.clock import FixedClock
from support.fake_booking import FakeBooking
from support.fake_trail import FakeTrail

CATALOG: Catalog = load_catalog(Path(__file__).resolve().parents[2] / "config" / "clinic.yaml")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CHICAGO = CATALOG.clinic.tz
WED_10 = datetime(2026, 11, 25, 10, 0, tzinfo=CHICAGO)
WED_1015 = datetime(2026, 11, 25, 10, 15, tzinfo=CHICAGO)
TWO_PM = datetime(2026, 11, 25, 14, 0, tzinfo=CHICAGO)
DESK = Actor(kind="user", id="desk-1", role=Role.FRONT_DESK)
ATTENDANT = Actor(
    kind="client", id="tablet", role=Role.CLIENT, scopes=frozenset({Scope.BOOKINGS_WRITE.value})
)


def person(n: int = 1) -> PatientDetails:
    return PatientDetails(f"Pat{n}", "Example", f"pat{n}@example.com", f"+1512555{n:04d}")


def slot(
    start: datetime = WED_10, practitioner: str | None = "doctor1", duration: int = 20
) -> SlotRequest:
    return SlotRequest("alternative_medicine", "initial", duration, start, practitioner)


@dataclass
class Clinic:
    """The use cases over one in-memory booking database."""

    db: FakeBooking = field(default_factory=FakeBooking)
    trail: FakeTrail = field(default_factory=FakeTrail)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))

    def __post_init__(self) -> None:
        guard = BookingGuard(self.trail)
        sources = [TimeOffCalendar(CATALOG)]
        units = self.db.units
        self.bookings = BookingService(
            uow=units,
            catalog=CATALOG,
            clock=self.clock,
            sources=sources,
            guard=guard,
            secret=b"s" * 32,
        )
        self.reader = BookingReader(uow=units, clock=self.clock, guard=guard)
        self.availability = AvailabilityService(
            uow=units, catalog=CATALOG, clock=self.clock, sources=sources
        )

    async def book(
        self,
        n: int = 1,
        at: SlotRequest | None = None,
        *,
        actor: Actor = ANONYMOUS,
        key: str | None = None,
        hold_id: str | None = None,
        patient: PatientDetails | None = None,
    ) -> BookingView:
        req = BookRequest(at or slot(), patient or person(n), hold_id)
        view, _ = await self.bookings.book(actor, req, key)
        return view

    @property
    def published(self) -> list[Event]:
        return self.db.ledger.published

    def types(self) -> list[str]:
        return self.db.ledger.types()
