"""HTTP request and response shapes for the waitlist. Field names are the public contract."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from clinicflow.infra.request_input import RequestModel
from clinicflow.infra.response_model import from_view
from clinicflow.patients import EmailIn, PhoneIn
from clinicflow.waitlist.domain import zips
from clinicflow.waitlist.domain.standing import Standing
from clinicflow.waitlist.entries.commands import Contact, JoinRequest, Preferences, TimeWindow
from clinicflow.waitlist.entries.views import EntryList, EntryView, JoinResult, PublicView

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Level = Annotated[int, Field(ge=1, le=5, description="1 (curious) … 5 (ready to book)")]
Channel = Literal["email", "sms", "phone"]
Channels = Annotated[list[Channel], Field(min_length=1, max_length=3)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _In(RequestModel):
    model_config = ConfigDict(extra="forbid")


class TimeWindowIn(_In):
    weekday: Weekday
    start: time = Field(description="clinic-local time, HH:MM")
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be later than start (windows stay within one day)")
        return self

    def window(self) -> TimeWindow:
        return TimeWindow(self.weekday, f"{self.start:%H:%M}", f"{self.end:%H:%M}")


Windows = Annotated[list[TimeWindowIn], Field(max_length=21)]


class SourceIn(_In):
    campaign: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    referrer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class JoinIn(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "service": "counseling",
                    "first_name": "Ana",
                    "last_name": "Example",
                    "email": "ana@example.com",
                    "zip": "78701",
                    "interest_level": 4,
                    "channels": ["email"],
                }
            ]
        }
    )

    service: Key
    first_name: Name
    last_name: Name
    email: EmailIn = None
    phone: PhoneIn = None
    zip: str = Field(description="the 5-digit US ZIP code where you live")
    interest_level: Level
    channels: Channels | None = Field(
        default=None, description="how to reach you; default: email if given, else phone"
    )
    sms_consent: bool = Field(default=False, description="required for the sms channel")
    preferred_practitioner: Key | None = None
    preferred_times: Windows = Field(default_factory=list)
    source: SourceIn | None = None

    @field_validator("zip")
    @classmethod
    def _zip(cls, value: str) -> str:
        value = value.strip()
        # The value is not echoed: a ZIP narrows down where someone lives.
        if not zips.FIVE_DIGITS.fullmatch(value):
            raise ValueError("give the 5-digit ZIP code, e.g. 78701")
        # A well-formed ZIP missing from the offline data (new, or a PO box) is accepted: its
        # location part of the score takes the documented neutral value instead.
        return value

    def request(self) -> JoinRequest:
        source = self.source or SourceIn()
        return JoinRequest(
            service=self.service,
            contact=Contact(self.first_name, self.last_name, self.email, self.phone),
            zip=self.zip,
            interest_level=self.interest_level,
            channels=tuple(self.channels) if self.channels is not None else None,
            sms_consent=self.sms_consent,
            preferred_practitioner=self.preferred_practitioner,
            preferred_times=tuple(w.window() for w in self.preferred_times),
            campaign=source.campaign or None,
            referrer=source.referrer or None,
        )


class PreferencesIn(_In):
    """Only what is given changes; `preferred_practitioner: null` clears it."""

    channels: Channels | None = None
    sms_consent: bool | None = None
    interest_level: Level | None = None
    preferred_practitioner: Key | None = None
    preferred_times: Windows | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give at least one preference to change")
        for name in ("channels", "sms_consent", "interest_level", "preferred_times"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; give a value or leave it out")
        return self

    def preferences(self) -> Preferences:
        times = self.preferred_times
        return Preferences(
            given=frozenset(self.model_fields_set),
            channels=tuple(self.channels) if self.channels is not None else None,
            sms_consent=self.sms_consent,
            interest_level=self.interest_level,
            preferred_practitioner=self.preferred_practitioner,
            preferred_times=tuple(w.window() for w in times) if times is not None else None,
        )


class ComponentOut(BaseModel):
    name: str
    value: float = Field(description="0..1")
    weight: float
    contribution: float = Field(description="value × weight; they add up to the score")
    reason: str


class StatusOut(BaseModel):
    """What the private link shows: nothing that identifies or reaches the person."""

    service: str
    status: str
    joined_at: datetime
    position: int | None = Field(description="1 = next in line; null once off the list")
    priority_score: float
    components: list[ComponentOut]
    weights: dict[str, float]


class JoinOut(StatusOut):
    id: str
    already_joined: bool = Field(description="true: this is the entry you made before")
    token: str | None = Field(description="your private link's token; shown only once")
    status_url: str | None


class SourceOut(BaseModel):
    campaign: str | None
    referrer: str | None


class EntryOut(BaseModel):
    id: str
    service: str
    status: str
    position: int | None
    priority_score: float
    components: list[ComponentOut]
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    zip: str | None
    zip3: str
    distance_miles: int | None
    interest_level: int
    channels: dict[str, Any]
    preferred_practitioner: str | None
    preferred_times: list[dict[str, str]]
    source: SourceOut
    stages: dict[str, datetime | None]
    patient_id: str | None
    booking_id: str | None
    joined_at: datetime
    status_at: datetime
    version: int


class EntryListOut(BaseModel):
    weights: dict[str, float]
    entries: list[EntryOut]


DIGITS = 4  # shown rounded; positions are computed from the unrounded scores


def components(standing: Standing) -> list[ComponentOut]:
    return [
        ComponentOut(
            name=c.name,
            value=round(c.value, DIGITS),
            weight=c.weight,
            contribution=round(c.contribution, DIGITS),
            reason=c.reason,
        )
        for c in standing.score.components
    ]


def _ranked(standing: Standing) -> dict[str, object]:
    """Where an entry stands, as its private link and the staff both show it."""
    return {
        "position": standing.position,
        "priority_score": round(standing.score.total, DIGITS),
        "components": components(standing),
    }


def status_out(view: PublicView) -> StatusOut:
    return from_view(StatusOut, view, **_ranked(view.standing))


def join_out(result: JoinResult, status_url: str | None) -> JoinOut:
    base = status_out(result.view).model_dump()
    return JoinOut(
        **base,
        id=result.id,
        already_joined=result.already_joined,
        token=result.token,
        status_url=status_url,
    )


def entry_out(view: EntryView) -> EntryOut:
    return from_view(
        EntryOut,
        view,
        **_ranked(view.standing),
        distance_miles=view.distance_mi,
        source=SourceOut(campaign=view.campaign, referrer=view.referrer),
    )


def entry_list_out(found: EntryList) -> EntryListOut:
    return EntryListOut(weights=found.weights, entries=[entry_out(v) for v in found.entries])
