"""HTTP request and response shapes for booking. Field names are the public contract."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from clinicflow.booking.views import BookingView, SlotView
from clinicflow.catalog import Practitioner, Service
from clinicflow.infra.request_input import RequestModel
from clinicflow.infra.response_model import from_view
from clinicflow.patients import InvalidContact, PatientDetails, normalize_email, normalize_phone
from clinicflow.shared.records import from_attributes

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Minutes = Annotated[int, Field(gt=0, le=24 * 60)]


class _In(RequestModel):
    model_config = ConfigDict(extra="forbid")


class PatientIn(_In):
    first_name: Name
    last_name: Name
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _normalized(self) -> Self:
        if not self.email and not self.phone:
            raise ValueError("give an email or a phone number, so the clinic can reach you")
        try:
            if self.email:
                self.email = normalize_email(self.email)
        except InvalidContact as exc:
            raise ValueError(f"email: {exc}") from exc
        try:
            if self.phone:
                self.phone = normalize_phone(self.phone)
        except InvalidContact as exc:
            raise ValueError(f"phone: {exc}") from exc
        return self

    def details(self) -> PatientDetails:
        return PatientDetails(self.first_name, self.last_name, self.email, self.phone)


HOLD_EXAMPLE: dict[str, JsonValue] = {
    "service": "alternative_medicine",
    "visit_type": "initial",
    "duration": 20,
    "start": "2026-11-25T10:00:00-06:00",
    "practitioner": "doctor1",
}

PATIENT_EXAMPLE: dict[str, JsonValue] = {
    "first_name": "Ana",
    "last_name": "Example",
    "email": "ana@example.com",
    "phone": "+15125550100",
}


class HoldIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [HOLD_EXAMPLE]})

    service: Key
    visit_type: Key
    duration: Minutes
    start: AwareDatetime
    practitioner: Key | None = None


class BookingIn(HoldIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**HOLD_EXAMPLE, "patient": PATIENT_EXAMPLE},
                # Confirming a hold placed with POST /v1/holds: the same slot, and its id.
                {**HOLD_EXAMPLE, "patient": PATIENT_EXAMPLE, "hold_id": "<the hold's id>"},
            ]
        }
    )

    # Required unless a signed-in patient books for themselves.
    patient: PatientIn | None = None
    hold_id: str | None = Field(default=None, max_length=36)


class RescheduleIn(_In):
    start: AwareDatetime
    practitioner: Key | None = None
    duration: Minutes | None = None


class ActionIn(_In):
    reason: str | None = Field(default=None, max_length=500)


@dataclass(frozen=True, slots=True)
class BookingOut(BookingView):
    actions: Annotated[tuple[str, ...], Field(description="life-cycle actions allowed now")]

    @classmethod
    def in_zone(cls, view: BookingView, tz: ZoneInfo) -> BookingOut:
        """The booking with its instants in the clinic's time zone."""
        instants = {f.name: getattr(view, f.name) for f in fields(view)}
        return from_attributes(
            cls,
            view,
            **{k: v.astimezone(tz) for k, v in instants.items() if isinstance(v, datetime)},
        )


class BookingList(BaseModel):
    bookings: list[BookingOut]


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    practitioners: list[str]

    @classmethod
    def of(cls, slot: SlotView) -> SlotOut:
        return cls(start=slot.start, end=slot.end, practitioners=list(slot.practitioners))


class AvailabilityOut(BaseModel):
    service: str
    visit_type: str
    duration: int
    timezone: str
    start: datetime
    end: datetime
    slots: list[SlotOut]


class _SlotJson(TypedDict):
    start: datetime
    end: datetime
    practitioners: tuple[str, ...]


class _AvailabilityJson(TypedDict):
    service: str
    visit_type: str
    duration: int
    timezone: str
    start: datetime
    end: datetime
    slots: list[_SlotJson]


_AVAILABILITY = TypeAdapter(_AvailabilityJson)


def availability_json(
    service: str,
    visit_type: str,
    duration: int,
    timezone: str,
    lo: datetime,
    hi: datetime,
    slots: list[SlotView],
) -> bytes:
    """`AvailabilityOut` as JSON bytes, serialized in one pass without building a model per
    slot (a 60-day answer holds thousands): the hot path of the booking page."""
    found: list[_SlotJson] = [
        {"start": s.start, "end": s.end, "practitioners": s.practitioners} for s in slots
    ]
    return _AVAILABILITY.dump_json(
        {
            "service": service,
            "visit_type": visit_type,
            "duration": duration,
            "timezone": timezone,
            "start": lo,
            "end": hi,
            "slots": found,
        }
    )


class VisitTypeOut(BaseModel):
    key: str
    durations: list[int] | None = Field(description="allowed minutes; null while TBD")
    price_cents: int | None = Field(description="null while TBD")


class ServiceOut(BaseModel):
    key: str
    name: str
    active: bool
    launched: bool  # active because an administrator launched it (not in the configuration)
    bookable: bool
    reasons: list[str]
    waitlist: bool
    launch_date: date | None
    visit_types: list[VisitTypeOut]
    practitioners: list[str]

    @classmethod
    def of(cls, s: Service) -> ServiceOut:
        visit_types = list(s.visit_types.values())
        return from_view(cls, s, visit_types=visit_types, practitioners=list(s.calendars))


class PractitionerOut(BaseModel):
    key: str
    name: str
    title: str
    services: list[str]

    @classmethod
    def of(cls, p: Practitioner) -> PractitionerOut:
        return cls(key=p.key, name=p.name, title=p.title, services=list(p.services))


def bound(value: date | datetime | None, tz: ZoneInfo, *, inclusive_end: bool) -> datetime | None:
    """A range bound from a query: a date is the clinic's local day (an end date counts
    whole), a naive datetime is clinic-local, an aware one is taken as given (midnight is an
    instant like any other)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    day = value + timedelta(days=1) if inclusive_end else value
    return datetime.combine(day, time(0), tzinfo=tz)
