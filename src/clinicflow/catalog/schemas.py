"""The shape of config/clinic.yaml, checked by Pydantic: its sections and their keys.

Each value is read by a reader in `domain.values`, whose `Invalid` says what is wrong and
what to write instead; `errors.schema_issues` turns Pydantic's errors into (key path,
message), and `domain.references` checks references across sections. These models are the
file's, not the API's: no route reads or answers them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    model_validator,
)

from clinicflow.catalog.domain import calendar_links as links
from clinicflow.catalog.domain import values as v
from clinicflow.catalog.domain.payments import MultiServiceCount, Rate
from clinicflow.catalog.domain.values import Invalid
from clinicflow.shared.hours import LocalInterval

Key = Annotated[str, PlainValidator(v.key)]
Text = Annotated[str, PlainValidator(v.text)]
Minutes = Annotated[int, PlainValidator(v.whole(0, "minutes"))]
PositiveMinutes = Annotated[int, PlainValidator(v.whole(1, "minutes"))]
PositiveDays = Annotated[int, PlainValidator(v.whole(1, "days"))]
PositiveYears = Annotated[int, PlainValidator(v.whole(1, "years"))]
Lengths = Annotated[
    list[Annotated[int, PlainValidator(v.length)]] | None,
    BeforeValidator(v.lengths_or_tbd),
    AfterValidator(v.distinct),
]
PriceCents = Annotated[int | None, PlainValidator(v.price_cents)]
LaunchDate = Annotated[dt.date | None, PlainValidator(v.launch_date)]
CalendarDate = Annotated[dt.date, PlainValidator(v.calendar_date)]
LocalDateTime = Annotated[dt.datetime, PlainValidator(v.local_datetime)]
TimeZoneName = Annotated[str, PlainValidator(v.timezone)]
Zip = Annotated[str, PlainValidator(v.zip_code)]
Mailbox = Annotated[str, PlainValidator(v.mailbox)]
Currency = Annotated[str, PlainValidator(v.currency)]
DayHours = Annotated[
    list[Annotated[LocalInterval, PlainValidator(v.interval)]], AfterValidator(v.no_overlap)
]
Keys = Annotated[list[Key], AfterValidator(v.distinct)]
Percent = Annotated[Decimal, PlainValidator(v.percent)]
Dollars = Annotated[int, PlainValidator(v.dollars)]
Uses = Annotated[int, PlainValidator(v.whole(1, "uses"))]
Visits = Annotated[int, PlainValidator(v.whole(1, "visits"))]
Hours = Annotated[int, PlainValidator(v.whole(0, "hours"))]
Code = Annotated[str, PlainValidator(v.promotion_code)]
TaxId = Annotated[str | None, PlainValidator(v.tax_id)]
CalendarUrl = Annotated[str, PlainValidator(links.calendar_url)]


CalendlyUser = Annotated[str, PlainValidator(v.calendly_uri("users"))]
CalendlyEventType = Annotated[str, PlainValidator(v.calendly_uri("event_types"))]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClinicSpec(Spec):
    name: Text
    timezone: TimeZoneName
    zip: Zip
    currency: Currency = "USD"
    hold_minutes: PositiveMinutes = 10


class ServiceSpec(Spec):
    active: StrictBool
    waitlist: StrictBool = False
    launch_date: LaunchDate = None
    durations: dict[Key, Lengths] = {}
    pricing: dict[Key, PriceCents] = {}
    calendars: Keys = []


class PolicySpec(Spec):
    buffer_before_min: Minutes | None = None
    buffer_after_min: Minutes | None = None
    min_notice_min: Minutes | None = None
    max_advance_days: PositiveDays | None = None
    slot_step_min: PositiveMinutes | None = None
    check_in_opens_min: Minutes | None = None
    reminder_minutes: list[PositiveMinutes] | None = None


class ServiceSettingsSpec(PolicySpec):
    name: Text | None = None


class HoursSpec(Spec):
    mon: DayHours = []
    tue: DayHours = []
    wed: DayHours = []
    thu: DayHours = []
    fri: DayHours = []
    sat: DayHours = []
    sun: DayHours = []


class ExceptionSpec(Spec):
    date: CalendarDate
    hours: DayHours = []
    reason: str = ""


class TimeOffSpec(Spec):
    start: LocalDateTime
    end: LocalDateTime
    reason: str = ""

    @model_validator(mode="after")
    def _ends_after_start(self) -> TimeOffSpec:
        if self.end <= self.start:
            raise Invalid(
                f"end {self.end:%Y-%m-%dT%H:%M} is not after start {self.start:%Y-%m-%dT%H:%M}; "
                "make the end later than the start",
                at=".end",
            )
        return self


def _distinct_dates(entries: list[ExceptionSpec]) -> list[ExceptionSpec]:
    i = v.first_repeat([entry.date for entry in entries])
    if i is not None:
        raise Invalid(f"{entries[i].date} has two exceptions; keep one per date", at=f"[{i}].date")
    return entries


class CalDavSpec(Spec):
    url: CalendarUrl
    username: Text | None = None
    read: Annotated[links.CalDavRead, PlainValidator(links.read_mode)] = "events"

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: object) -> object:
        if isinstance(data, dict) and "password" in data:
            raise Invalid(
                "a password is never kept in this file: remove it and set "
                'CLINICFLOW_CALDAV_PASSWORDS=\'{"<practitioner>": "<password>"}\' instead',
                at=".password",
            )
        return data


class MicrosoftSpec(Spec):
    """The practitioner's Microsoft 365 calendar: busy time read, bookings written back."""

    mailbox: Mailbox


class CalendlyEventTypeSpec(Spec):
    """One of the practitioner's Calendly event types, and the visit it books here."""

    uri: CalendlyEventType
    service: Key
    visit_type: Key


def _distinct_event_types(entries: list[CalendlyEventTypeSpec]) -> list[CalendlyEventTypeSpec]:
    i = v.first_repeat([entry.uri for entry in entries])
    if i is not None:
        raise Invalid(f"{entries[i].uri} is listed twice; keep one", at=f"[{i}].uri")
    return entries


class CalendlySpec(Spec):
    """The practitioner's Calendly user; bookings on these event types' pages are imported."""

    user: CalendlyUser
    event_types: Annotated[list[CalendlyEventTypeSpec], AfterValidator(_distinct_event_types)] = []


class PractitionerSpec(Spec):
    name: Text
    title: Text
    services: Keys = []
    hours: HoursSpec
    exceptions: Annotated[list[ExceptionSpec], AfterValidator(_distinct_dates)] = []
    time_off: list[TimeOffSpec] = []
    # Busy time from the practitioner's own calendars (docs/calendars.md).
    caldav: CalDavSpec | None = None
    ics: Annotated[list[CalendarUrl], AfterValidator(v.distinct)] = []

    microsoft: MicrosoftSpec | None = None

    calendly: CalendlySpec | None = None


class RetentionSpec(Spec):
    audit_log_years: PositiveYears = 6
    patient_records_years_after_last_visit: PositiveYears = 7
    expired_holds_days: PositiveDays = 30
    cancelled_waitlist_entries_days: PositiveDays = 365
    published_events_days: PositiveDays = 30
    finished_deliveries_days: PositiveDays = 30
    handled_events_days: PositiveDays = 90


# -- the payments: section ---------------------------------------------------------------


class RateSpec(Spec):
    percent: Percent | None = None
    amount: Dollars | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RateSpec:
        if self.percent is not None and self.amount is not None:
            raise Invalid("give either percent or amount, not both; remove one")
        if self.percent is None and self.amount is None:
            raise Invalid("give percent (like 50) or amount in US dollars (like 40)")
        return self

    def build(self) -> Rate:
        return Rate(percent=self.percent, cents=self.amount)


class MultiServiceSpec(Spec):
    percent: Percent = Decimal(10)
    count: Annotated[MultiServiceCount, PlainValidator(v.multi_service_count)] = (
        MultiServiceCount.DISTINCT_SERVICES
    )


class PackageItemSpec(Spec):
    service: Key
    visit_type: Key
    visits: Visits = 1


def _distinct_items(items: list[PackageItemSpec]) -> list[PackageItemSpec]:
    i = v.first_repeat([(item.service, item.visit_type) for item in items])
    if i is not None:
        raise Invalid(
            f"{items[i].service} {items[i].visit_type} is listed twice; "
            "keep one entry and add up its visits",
            at=f"[{i}]",
        )
    return items


class PackageSpec(Spec):
    name: Text
    price: PriceCents
    valid_days: PositiveDays
    includes: Annotated[list[PackageItemSpec], Field(min_length=1), AfterValidator(_distinct_items)]


class PromotionSpec(Spec):
    description: str = ""
    discount: RateSpec
    starts: CalendarDate
    ends: CalendarDate | None = None
    max_uses: Uses | None = None
    max_uses_per_patient: Uses | None = None
    services: Keys | None = None
    visit_types: Keys | None = None
    new_patients_only: StrictBool = False
    stacks_with_multi_service: StrictBool = False

    @model_validator(mode="after")
    def _consistent(self) -> PromotionSpec:
        if self.ends is not None and self.ends < self.starts:
            raise Invalid(
                f"ends {self.ends} is before starts {self.starts}; make ends the same day or later",
                at=".ends",
            )
        total, each = self.max_uses, self.max_uses_per_patient
        if total is not None and each is not None and each > total:
            raise Invalid(
                f"max_uses_per_patient ({each}) is more than max_uses ({total}); "
                f"lower it to {total} or less",
                at=".max_uses_per_patient",
            )
        return self


class CancellationSpec(Spec):
    full_refund_hours: Hours = 24
    late_cancel_fee: RateSpec = RateSpec(percent=Decimal(50))
    no_show_fee: RateSpec = RateSpec(percent=Decimal(100))
    return_credit_on_late_cancel: StrictBool = False


class BillingSpec(Spec):
    legal_name: Text
    address: Annotated[list[Text], Field(min_length=1)]
    tax_id: TaxId = None
    phone: Text | None = None
    email: Text | None = None


class PaymentsSpec(Spec):
    multi_service_discount: MultiServiceSpec = MultiServiceSpec()
    packages: dict[Key, PackageSpec] = Field(default_factory=dict)
    promotions: dict[Code, PromotionSpec] = Field(default_factory=dict)
    cancellation: CancellationSpec = CancellationSpec()
    hsa_fsa_eligible: Keys = Field(default_factory=list)
    billing: BillingSpec | None = None
    pay_at_clinic: StrictBool = True


# -- the whole file ----------------------------------------------------------------------


class DocumentSpec(Spec):
    clinic: ClinicSpec
    services: Annotated[dict[Key, ServiceSpec], Field(min_length=1)]
    policy_defaults: PolicySpec = PolicySpec()
    service_settings: dict[Key, ServiceSettingsSpec] = Field(default_factory=dict)
    practitioners: Annotated[dict[Key, PractitionerSpec], Field(min_length=1)]
    retention: RetentionSpec = RetentionSpec()
    payments: PaymentsSpec = PaymentsSpec()
