"""What callers ask of the waitlist, as plain data (already parsed and normalized)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFERENCE_FIELDS = frozenset(
    {"channels", "sms_consent", "interest_level", "preferred_practitioner", "preferred_times"}
)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A weekly window the person prefers, in the clinic's local time."""

    weekday: str  # mon … sun
    start: str  # "HH:MM"
    end: str

    def as_dict(self) -> dict[str, str]:
        return {"weekday": self.weekday, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Contact:
    first_name: str
    last_name: str
    email: str | None  # normalized
    phone: str | None  # E.164


@dataclass(frozen=True, slots=True)
class JoinRequest:
    service: str
    contact: Contact
    zip: str  # five digits, known to the ZIP data
    interest_level: int
    channels: tuple[str, ...] | None = None  # None: the default for the contact given
    sms_consent: bool = False
    preferred_practitioner: str | None = None
    preferred_times: tuple[TimeWindow, ...] = ()
    campaign: str | None = None
    referrer: str | None = None


@dataclass(frozen=True, slots=True)
class Preferences:
    """Only the fields the caller gave; None for preferred_practitioner clears it."""

    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        unknown = set(self.values) - PREFERENCE_FIELDS
        if unknown:
            raise ValueError(f"unknown preference fields: {sorted(unknown)}")
