"""What the waitlist-conversion use cases answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WaveSize:
    service: str
    places: int  # first visits to fill
    invite: int  # people to invite, in the published priority order
    expected: float  # first visits expected from them
    waiting: int  # on the list, never invited
