"""The clinic as configured: services, visit types, prices, practitioners and their hours.

Plain frozen data built once at start from config/clinic.yaml (see `catalog.loader`).
`None` stands for the seed's `TBD`: a value the clinic has not decided yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

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
    # Launched at run time (catalog.launches): active though the configuration says not yet.
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
class Practitioner:
    key: str  # the calendar id used by services' `calendars`
    name: str
    title: str
    services: tuple[str, ...]  # every service key this practitioner offers
    weekly_hours: Mapping[int, tuple[LocalInterval, ...]]  # 0 = Monday .. 6 = Sunday
    exceptions: Mapping[date, tuple[LocalInterval, ...]]  # replaces that weekday's hours; () = off
    time_off: tuple[TimeOff, ...] = ()


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
class RetentionPolicy:
    """How long each kind of data is kept; `clinicflow retention run` applies it."""

    audit_log_years: int = 6  # HIPAA keeps compliance documentation six years
    patient_records_years_after_last_visit: int = 7
    expired_holds_days: int = 30
    # Withdrawn waitlist entries are deleted this long after they were withdrawn.
    cancelled_waitlist_entries_days: int = 365
    # The event bus's bookkeeping (infra/events/retention.py): published outbox events,
    # finished deliveries, and the handled-event records that stop a redelivery acting twice.
    published_events_days: int = 30
    finished_deliveries_days: int = 30
    handled_events_days: int = 90

    def audit_cutoff(self, now: datetime) -> datetime:
        return years_before(now, self.audit_log_years)

    def patient_cutoff(self, now: datetime) -> datetime:
        return years_before(now, self.patient_records_years_after_last_visit)

    def holds_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.expired_holds_days)


def years_before(at: datetime, years: int) -> datetime:
    """The same calendar date `years` earlier; 29 February falls back to the 28th.

    Calendar years rather than 365-day multiples: "six years" in a retention rule means the
    anniversary, and leap days would otherwise move the cutoff a day or two early."""
    try:
        return at.replace(year=at.year - years)
    except ValueError:
        return at.replace(year=at.year - years, day=28)


class MultiServiceCount(StrEnum):
    """What the multi-service discount counts to decide that an order holds "more than one"."""

    DISTINCT_SERVICES = "distinct_services"  # two follow-ups of one service do not qualify
    ITEMS = "items"  # the seed's `services.length > 1`: any two visits qualify


@dataclass(frozen=True, slots=True)
class Rate:
    """A share of an amount: a percentage (0..100) or a fixed number of cents, never both."""

    percent: Decimal | None = None
    cents: int | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.cents is None):
            raise ValueError("a Rate is either a percent or a number of cents")
        if self.percent is not None and not Decimal(0) <= self.percent <= Decimal(100):
            raise ValueError(f"percent must be within 0..100, not {self.percent}")
        if self.cents is not None and self.cents < 0:
            raise ValueError(f"cents must be 0 or more, not {self.cents}")


@dataclass(frozen=True, slots=True)
class MultiServiceDiscount:
    percent: Decimal = Decimal(10)  # the seed's 10%
    count: MultiServiceCount = MultiServiceCount.DISTINCT_SERVICES


@dataclass(frozen=True, slots=True)
class PackageItem:
    service: str
    visit_type: str
    visits: int


@dataclass(frozen=True, slots=True)
class PackageOffer:
    """A bundle of visits sold at one price; bought, it becomes visit credits per patient."""

    key: str
    name: str
    price_cents: int | None  # None = TBD: the package cannot be sold yet
    valid_days: int  # credits expire this many days after the purchase
    items: tuple[PackageItem, ...]


@dataclass(frozen=True, slots=True)
class Promotion:
    code: str  # upper case; codes are matched case-insensitively
    discount: Rate
    starts: date  # first local day it may be used
    ends: date | None  # last local day it may be used (inclusive); None = no end
    max_uses: int | None = None  # over all patients; None = unlimited
    max_uses_per_patient: int | None = None
    services: frozenset[str] | None = None  # eligible services; None = every service
    stacks_with_multi_service: bool = False
    description: str = ""
    visit_types: frozenset[str] | None = None  # eligible visit types; None = every type
    new_patients_only: bool = False  # only for a patient with no earlier visit


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    full_refund_hours: int = 24  # cancelled at least this long before the start: full refund
    late_cancel_fee: Rate = field(default_factory=lambda: Rate(percent=Decimal(50)))
    no_show_fee: Rate = field(default_factory=lambda: Rate(percent=Decimal(100)))
    # A credit-paid visit has no cash to keep a fee from, so a late cancellation forfeits the
    # credit unless the clinic says otherwise; a no-show always forfeits it.
    return_credit_on_late_cancel: bool = False


@dataclass(frozen=True, slots=True)
class BillingIdentity:
    """Who the receipts say the patient paid."""

    legal_name: str
    address: tuple[str, ...]  # printed lines
    tax_id: str | None = None  # EIN; None = TBD
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentsConfig:
    multi_service_discount: MultiServiceDiscount = field(default_factory=MultiServiceDiscount)
    packages: Mapping[str, PackageOffer] = field(default_factory=lambda: MappingProxyType({}))
    promotions: Mapping[str, Promotion] = field(default_factory=lambda: MappingProxyType({}))
    cancellation: CancellationPolicy = field(default_factory=CancellationPolicy)
    hsa_fsa_eligible: frozenset[str] = frozenset()  # service keys
    billing: BillingIdentity | None = None


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
