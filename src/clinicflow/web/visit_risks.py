"""The no-show risk beside each upcoming visit on the staff calendar ("High 42%") with the
model's top reasons in words, from the cached predictions (docs/ml.md): read through the
`NoShowRiskReader` port, which forecasting's `BookingRisks` fills (bootstrap provides it), so
the page knows nothing of the models. Shown to the roles that read risks (admins, front desk,
practitioners); nothing is shown when no model has been trained (nothing is cached), and a
visit booked since the last prediction has no risk yet."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends

from clinicflow.catalog import Catalog
from clinicflow.forecasting.risks.service import BookingRisks
from clinicflow.forecasting.views import NoShowRisk, Reason
from clinicflow.infra.web import provided
from clinicflow.shared.actor import Actor

HIGH = 0.3  # as the analysts' summary counts "high risk" (RiskReports.high_risk)
MEDIUM = 0.15
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class NoShowRiskReader(Protocol):
    def may_read(self, actor: Actor) -> bool: ...

    async def of_bookings(
        self, actor: Actor, booking_ids: Iterable[str], since: datetime
    ) -> Mapping[str, NoShowRisk]: ...


RiskReaderDep = Annotated[NoShowRiskReader, Depends(provided(BookingRisks))]


@dataclass(frozen=True, slots=True)
class RiskShown:
    level: str  # High | Medium | Low: the words say it, the colour only repeats them
    percent: int
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.level} {self.percent}%"

    @property
    def css(self) -> str:
        return f"risk-{self.level.lower()}"


def level(risk: float) -> str:
    return "High" if risk >= HIGH else "Medium" if risk >= MEDIUM else "Low"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _count(n: float, one: str, many: str) -> str:
    k = round(n)
    return f"{k} {one if k == 1 else many}"


COUNTS = {
    "lead_days": ("booked {} ahead", "day", "days"),
    "prior_no_shows": ("{}", "earlier no-show", "earlier no-shows"),
    "prior_visits": ("{}", "earlier visit", "earlier visits"),
    "prior_late_cancels": ("{}", "late cancellation", "late cancellations"),
    "prior_cancels": ("{}", "cancellation", "cancellations"),
}
FLAGS = {
    "new_patient": ("a new patient", "a returning patient"),
    "first_visit": ("a first visit", "a follow-up visit"),
}


def reason_words(reason: Reason, catalog: Catalog) -> str:
    """One SHAP reason (feature, value) as the front desk would say it."""
    f, v = reason.feature, _number(reason.value)
    if f == "service":
        found = catalog.services.get(reason.value)
        return f"the service ({found.name if found else reason.value})"
    if math.isnan(v):
        return f.replace("_", " ")
    if f in COUNTS:
        text, one, many = COUNTS[f]
        return text.format(_count(v, one, many))
    if f in FLAGS:
        yes, no = FLAGS[f]
        return yes if v >= 0.5 else no
    if f == "days_since_visit":
        return "no earlier visit" if v < 0 else f"{_count(v, 'day', 'days')} since the last visit"
    if f == "weekday":
        return f"on a {WEEKDAYS[int(v) % 7]}"
    if f == "hour":
        return f"at {int(v) % 12 or 12} {'AM' if v < 12 else 'PM'}"
    return f"{f.replace('_', ' ')}: {reason.value}"


def shown(risk: NoShowRisk, catalog: Catalog) -> RiskShown:
    return RiskShown(
        level(risk.risk),
        round(risk.risk * 100),
        tuple(reason_words(r, catalog) for r in risk.reasons),
    )


async def visit_risks(
    reader: NoShowRiskReader,
    actor: Actor,
    catalog: Catalog,
    upcoming: Iterable[str],
    now: datetime,
) -> dict[str, RiskShown]:
    """Each of the `upcoming` visits' risk, by booking id; empty for a role that may not read
    risks (not even asked, so no refusal is audited on every calendar view)."""
    if not reader.may_read(actor):
        return {}
    found = await reader.of_bookings(actor, upcoming, now)
    return {booking_id: shown(r, catalog) for booking_id, r in found.items()}
