"""Wall-clock working hours, shared by the catalog and the availability engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True, slots=True)
class LocalInterval:
    """Wall-clock hours in the clinic's zone, start < end, same day."""

    start: time
    end: time
