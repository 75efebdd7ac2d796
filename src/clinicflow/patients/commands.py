"""What callers ask of the patient context."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.patients.domain.patient import PatientFields

# Fields a caller may set; `PatientChanges.values` holds only those the caller gave, and
# None there clears the field.
FIELDS = frozenset(PatientFields.__annotations__)


@dataclass(frozen=True, slots=True)
class PatientChanges:
    values: PatientFields

    def __post_init__(self) -> None:
        unknown = set(self.values) - FIELDS
        if unknown:
            raise ValueError(f"unknown patient fields: {sorted(unknown)}")
