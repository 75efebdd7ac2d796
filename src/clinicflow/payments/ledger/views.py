"""What the ledger's use cases answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RevenueRow:
    day: str  # the clinic's local date, ISO
    service: str
    charged_cents: int
    refunded_cents: int  # positive
    adjusted_cents: int

    @property
    def net_cents(self) -> int:
        return self.charged_cents - self.refunded_cents + self.adjusted_cents
