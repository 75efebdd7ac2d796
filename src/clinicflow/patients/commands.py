"""What callers ask of the patient context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Fields a caller may set; `PatientChanges.values` holds only those the caller gave, and
# None there clears the field.
FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "birth_date",
        "sex",
        "pronouns",
        "address",
        "notes",
        "contact_prefs",
        "referral",
    }
)


@dataclass(frozen=True, slots=True)
class PatientChanges:
    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        unknown = set(self.values) - FIELDS
        if unknown:
            raise ValueError(f"unknown patient fields: {sorted(unknown)}")
