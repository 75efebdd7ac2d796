"""What is due on each simulated day: people asking for a visit at a booking round, and the
visits booked, each with its fate drawn when it was booked (attended, missed, cancelled in
time or late, moved)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from clinicflow.simulation.people import Person

MORNING, EVENING = "morning", "evening"


@dataclass(frozen=True, slots=True)
class Ask:
    """`person` asks for a visit of `visit_type` about `lead` days after the round."""

    person: Person
    visit_type: str
    lead: int


@dataclass(slots=True)
class Planned:
    booking_id: str
    person: Person
    service: str
    visit_type: str
    duration: int
    practitioner: str
    start: datetime
    end: datetime
    lead: int
    fate: str  # attend | no_show | cancel | late_cancel | reschedule
    change_at: datetime | None = None  # when a cancel or move happens
    paid: bool = False  # prepaid at the desk when booked


@dataclass
class Agenda:
    asks: dict[tuple[date, str], list[Ask]] = field(default_factory=lambda: defaultdict(list))
    visits: dict[date, list[Planned]] = field(default_factory=lambda: defaultdict(list))
    changes: dict[date, list[Planned]] = field(default_factory=lambda: defaultdict(list))

    def ask(self, day: date, round_: str, ask: Ask) -> None:
        self.asks[(day, round_)].append(ask)

    def plan(self, visit: Planned, tz_day: date, change_day: date | None) -> None:
        self.visits[tz_day].append(visit)
        if change_day is not None:
            self.changes[change_day].append(visit)
