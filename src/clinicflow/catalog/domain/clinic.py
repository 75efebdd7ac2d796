"""The clinic as configured: services, visit types, prices, practitioners and their hours.

Plain frozen data built once at start from config/clinic.yaml (see `catalog.service`).
`None` stands for the seed's `TBD`: a value the clinic has not decided yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from clinicflow.catalog.domain.calendar_links import CalDavLink
from clinicflow.catalog.domain.payments import PaymentsConfig
from clinicflow.catalog.domain.retention import RetentionPolicy
from clinicflow.shared.hours import LocalInterval


@dataclass(frozen=True, slots=True)
class VisitType:
    key: str
    durations: tuple[int, ...] | None  # allowed lengths in minutes; None = TBD
    price_cents: int | None  # None = TBD


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    buffer_before_min: int = 0
    buffer_after_min: int = 0
    min_notice_min: int = 120
    max_advance_days: int = 90
    slot_step_min: int = 15
    # Check-in and completion are accepted from this long before the start (12 h: the visit's
    # own day, for daytime hours), not days ahead by mistake.
    check_in_opens_min: int = 720
    # Reminders go this many minutes before the visit (notifications; default 24 h and 2 h).
    reminder_minutes: tuple[int, ...] = (1440, 120)


@dataclass(frozen=True, slots=True)
class Service:
    key: str
    name: str
    active: bool
    waitlist: bool
    launch_date: date | None  # None = TBD or not given
    visit_types: Mapping[str, VisitType]
    calendars: tuple[str, ...]  # keys of the practitioners who offer it
    policy: ServicePolicy = field(default_factory=ServicePolicy)
    # Launched at run time (`domain.launches`): active though the configuration says not yet.
    launched: bool = False

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the service cannot be booked now; empty when it can."""
        out: list[str] = []
        if not self.active:
            out.append(
                "not launched yet: join the waitlist" if self.waitlist else "not offered at present"
            )
        for vt in self.visit_types.values():
            if vt.durations is None:
                out.append(f"{vt.key} visit durations are not decided yet (TBD)")
            if vt.price_cents is None:
                out.append(f"{vt.key} visit price is not decided yet (TBD)")
        if self.active and not self.visit_types:
            out.append("no visit types are configured")
        if self.active and not self.calendars:
            out.append("no practitioner offers this service")
        return tuple(out)

    @property
    def bookable(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class TimeOff:
    start: datetime  # aware, in the clinic's zone
    end: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CalendlyEventType:
    uri: str  # https://api.calendly.com/event_types/…
    service: str
    visit_type: str


@dataclass(frozen=True, slots=True)
class CalendlyLink:
    """The practitioner's Calendly user (its busy time is read) and the event types whose
    bookings are imported as visits."""

    user: str  # https://api.calendly.com/users/…
    event_types: tuple[CalendlyEventType, ...] = ()


@dataclass(frozen=True, slots=True)
class Practitioner:
    key: str  # the calendar id used by services' `calendars`
    name: str
    title: str
    services: tuple[str, ...]  # every service key this practitioner offers
    weekly_hours: Mapping[int, tuple[LocalInterval, ...]]  # 0 = Monday .. 6 = Sunday
    exceptions: Mapping[date, tuple[LocalInterval, ...]]  # replaces that weekday's hours; () = off
    time_off: tuple[TimeOff, ...] = ()
    caldav: CalDavLink | None = None  # busy time read from their CalDAV calendar
    ics: tuple[str, ...] = ()  # and from these read-only ICS subscriptions
    microsoft_mailbox: str | None = None  # their Microsoft 365 mailbox, lower-cased
    calendly: CalendlyLink | None = None


@dataclass(frozen=True, slots=True)
class Clinic:
    name: str
    timezone: str  # IANA name
    zip: str
    currency: str = "USD"
    hold_minutes: int = 10

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Catalog:
    clinic: Clinic
    services: Mapping[str, Service]  # in configuration order
    practitioners: Mapping[str, Practitioner]  # in configuration order
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    payments: PaymentsConfig = field(default_factory=PaymentsConfig)

    def practitioners_for(self, service_key: str) -> tuple[Practitioner, ...]:
        service = self.services[service_key]
        return tuple(self.practitioners[k] for k in service.calendars)
