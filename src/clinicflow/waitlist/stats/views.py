"""What the statistics use case hands back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.waitlist.domain.stats import ServiceStats


@dataclass(frozen=True, slots=True)
class StatsView:
    generated_at: datetime
    timezone: str
    clinic_conversion_rate: float | None
    services: list[ServiceStats]
