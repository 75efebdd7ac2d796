"""What a schedule proposal answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class ShiftView:
    practitioner: str
    start: datetime
    service: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed week (never applied: shown beside the greedy rule's week)."""

    week: date  # its Monday
    shifts: tuple[ShiftView, ...]
    demand_visits: float  # forecast visits that week
    served_visits: float  # expected visits served by the proposal
    greedy_served_visits: float  # by the greedy rule on the same demand
    uplift: float  # served ÷ greedy's − 1
    continuity: float  # hours weighted by the practitioner's share of regulars
    greedy_continuity: float
    status: str  # the solver's: OPTIMAL or FEASIBLE
    seconds: float  # time spent solving
