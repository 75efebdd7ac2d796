"""What a click on a nurture message's link hands back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Clicked:
    service: str
    status: str  # the entry's
    counted: bool  # False when this message's click was counted before
