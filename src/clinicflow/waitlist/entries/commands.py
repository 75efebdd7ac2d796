"""What callers ask of the waitlist, as plain data (already parsed and normalized)."""

from __future__ import annotations

from dataclasses import dataclass

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
    """Only the fields named in `given` change; a given `preferred_practitioner` of None
    clears it."""

    given: frozenset[str]
    channels: tuple[str, ...] | None = None
    sms_consent: bool | None = None
    interest_level: int | None = None
    preferred_practitioner: str | None = None
    preferred_times: tuple[TimeWindow, ...] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.given) - PREFERENCE_FIELDS
        if unknown:
            raise ValueError(f"unknown preference fields: {sorted(unknown)}")
        for name in self.given - {"preferred_practitioner"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be None; give a value or leave it out")
