"""What issuing a feed token gives back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IssuedFeed:
    practitioner: str
    url: str  # the full address, token included: shown once, never stored
    replaced: bool  # an earlier address existed, and no longer works
