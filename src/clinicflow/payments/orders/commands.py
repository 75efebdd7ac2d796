"""What the order use cases are asked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineCodes:
    """The billing codes staff give one visit of a payment, for a superbill."""

    booking_id: str
    cpt: tuple[str, ...]
    icd10: tuple[str, ...]
