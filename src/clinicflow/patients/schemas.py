"""HTTP shapes for patients. Input is normalized here (email, E.164 phone), so the blind
index of a value typed two ways is the same."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from clinicflow.infra.request_input import RequestModel
from clinicflow.infra.response_model import ResponseModel
from clinicflow.patients.domain.contact import normalize_email, normalize_phone
from clinicflow.patients.domain.patient import PatientFields as Fields
from clinicflow.patients.views import (
    Address,
    PatientView,
    RecordView,
    Referral,
)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# For request schemas in any context: an optional email or phone, normalized as stored and
# looked up (a blank means none; anything else must be valid, or it is a 422 naming the field).
EmailIn = Annotated[
    Annotated[str, Field(max_length=254), AfterValidator(normalize_email)] | None,
    BeforeValidator(_blank_is_none),
]
PhoneIn = Annotated[
    Annotated[str, Field(max_length=32), AfterValidator(normalize_phone)] | None,
    BeforeValidator(_blank_is_none),
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# "marketing" is consent to the clinic's marketing (the CRM sync reads it), not a channel
# messages are sent on.
Channel = Literal["email", "sms", "push", "marketing"]


class _In(RequestModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(_In):
    line1: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    line2: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    city: Name
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="two-letter state code, e.g. TX"
    )
    zip: Annotated[str, StringConstraints(pattern=r"^\d{5}(-\d{4})?$")] = Field(
        description="ZIP or ZIP+4, e.g. 78701"
    )


class ReferralIn(_In):
    source: Literal["patient", "practitioner", "campaign", "other"]
    patient_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    practitioner: Short | None = None
    campaign: Short | None = None

    @model_validator(mode="after")
    def _who(self) -> Self:
        needed = {"patient": self.patient_id, "practitioner": self.practitioner}
        needed["campaign"] = self.campaign
        if self.source in needed and not needed[self.source]:
            raise ValueError(
                f"a referral from a {self.source} needs `{self.source}`"
                + ("_id" if self.source == "patient" else "")
                + " too"
            )
        return self


class PatientFields(_In):
    """For POST (first_name, last_name and an email or phone required) and PATCH (only
    the fields given change; null clears a field)."""

    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailIn = None
    phone: PhoneIn = None
    birth_date: date | None = None
    sex: Literal["female", "male", "intersex", "other", "undisclosed"] | None = None
    pronouns: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    address: AddressIn | None = None
    notes: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    contact_prefs: dict[Channel, bool] | None = Field(
        default=None, description="opt in (true) or out (false) per channel; consent is timed"
    )
    referral: ReferralIn | None = None

    @field_validator("birth_date")
    @classmethod
    def _born(cls, value: date | None) -> date | None:
        if value is not None and value.year < 1900:
            raise ValueError("give a birth date after 1900")
        return value

    def changes(self) -> Fields:
        given: dict[str, object] = {name: getattr(self, name) for name in self.model_fields_set}
        if isinstance(self.address, AddressIn) and "address" in given:
            given["address"] = Address(**self.address.model_dump())
        if isinstance(self.referral, ReferralIn) and "referral" in given:
            given["referral"] = Referral(**self.referral.model_dump())
        return cast(Fields, given)  # the fields are PatientFields' (`extra="forbid"`)


class MergeIn(_In):
    into: Annotated[str, StringConstraints(min_length=1, max_length=36)] = Field(
        description="the id of the record that survives"
    )


class LegalHoldIn(_In):
    on: bool
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class AddressOut(BaseModel):
    line1: str
    line2: str | None
    city: str
    state: str
    zip: str


class ReferralOut(BaseModel):
    source: str | None
    patient_id: str | None
    practitioner: str | None
    campaign: str | None


class PatientOut(ResponseModel[PatientView]):
    id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: date | None
    sex: str | None
    pronouns: str | None
    address: AddressOut | None
    notes: str | None
    contact_prefs: dict[str, dict[str, object]]  # per channel: opt_in, consent_at, withdrawn_at
    referral: ReferralOut
    status: str
    merged_into: str | None
    legal_hold: bool
    version: int
    created_at: datetime
    updated_at: datetime


class PatientList(BaseModel):
    patients: list[PatientOut]


class VisitOut(BaseModel):
    booking_id: str
    visit_type: str
    practitioner: str
    status: str
    start: datetime
    end: datetime


class ServiceHistoryOut(BaseModel):
    service: str
    past: list[VisitOut]
    upcoming: list[VisitOut]


class EnrollmentOut(BaseModel):
    service: str
    since: datetime
    status: str


class RecordOut(ResponseModel[RecordView]):
    patient: PatientOut
    enrollments: list[EnrollmentOut]
    services: list[ServiceHistoryOut]
    referred_patients: list[str]
    merged_from: list[str]
