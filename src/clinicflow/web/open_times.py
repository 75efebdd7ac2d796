"""The open times every face offers (the booking site, the patient's reschedule page, the
staff console's booking, the waitlist's invitation): the visit chosen (`Visit`, checked by
`chosen`), a `Week` of its free times as `templates/_week.html` shows them, and the time
pressed on one (`posted_start`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode

from clinicflow.booking.api import AvailabilityDep
from clinicflow.catalog import Catalog, Service
from clinicflow.web.forms import Posted
from clinicflow.web.pages import Frame


@dataclass(frozen=True, slots=True)
class Visit:
    """What the patient chose on the landing page."""

    service: Service
    visit_type: str
    duration: int
    practitioner: str | None

    @property
    def price_cents(self) -> int | None:
        return self.service.visit_types[self.visit_type].price_cents

    def fields(self) -> list[tuple[str, str]]:
        """The choice as a form's hidden fields (and a link's query)."""
        chosen = [
            ("service", self.service.key),
            ("visit_type", self.visit_type),
            ("duration", str(self.duration)),
        ]
        return chosen + ([("practitioner", self.practitioner)] if self.practitioner else [])

    def query(self, **more: str) -> str:
        return urlencode([*self.fields(), *more.items()])


class BadChoice(Exception):
    """The visit asked for is not one the clinic offers online; says which part and why."""


def chosen(
    catalog: Catalog, service: str, visit_type: str, duration: int, practitioner: str | None
) -> Visit:
    found = catalog.services.get(service)
    if found is None:
        raise BadChoice(f"there is no service {service!r}; pick one from the list")
    if not found.bookable:
        raise BadChoice(f"{found.name} cannot be booked online yet: {'; '.join(found.reasons)}")
    vt = found.visit_types.get(visit_type)
    if vt is None:
        raise BadChoice(f"{found.name} has no {visit_type!r} visit; pick one from the list")
    if vt.durations is None or duration not in vt.durations:
        allowed = ", ".join(str(d) for d in vt.durations or ())
        raise BadChoice(f"a {visit_type} visit lasts {allowed} minutes; pick one of those")
    if practitioner and practitioner not in found.calendars:
        raise BadChoice("that practitioner does not offer this service; pick another or 'any'")
    return Visit(found, visit_type, duration, practitioner or None)


@dataclass(frozen=True, slots=True)
class Week:
    """The days of open times a page shows (templates/_week.html): `days` days from `first`,
    which is never before today, in the clinic's zone. The booking site, the patient's
    reschedule page, the staff console's booking and the waitlist's invitation show one."""

    first: date
    today: date
    tz: tzinfo
    days: int = 7

    @classmethod
    def of(cls, page: Frame, week: date | None, now: datetime, days: int = 7) -> Week:
        """The week starting on `week` (a link's), or today when none or a past one."""
        today = now.astimezone(page.clinic_tz).date()
        return cls(max(week or today, today), today, page.clinic_tz, days)

    def span(self, now: datetime) -> tuple[datetime, datetime]:
        """Where to look for open times: from its first day (or now, when later) to its end."""
        lo = max(datetime.combine(self.first, time(), self.tz), now)
        return lo, datetime.combine(self.first + timedelta(days=self.days), time(), self.tz)

    def shown(
        self,
        starts: Iterable[datetime],
        *,
        action: str,
        fields: list[tuple[str, str]],
        href: Callable[[date], str],
    ) -> dict[str, object]:
        """The partial's context: each day with its `starts`; a pressed time posts `start` to
        `action` with the hidden `fields`; `href(day)` is the page of the week from `day`."""
        days: dict[date, list[datetime]] = {
            self.first + timedelta(days=i): [] for i in range(self.days)
        }
        for start in starts:
            at = start.astimezone(self.tz)
            days.setdefault(at.date(), []).append(at)
        step = timedelta(days=self.days)
        return {
            "days": days,
            "first": self.first,
            "previous": self.first - step if self.first > self.today else None,
            "next": self.first + step,
            "any_open": any(days.values()),
            "week_action": action,
            "week_fields": fields,
            "week_href": href,
        }


def posted_start(posted: Posted) -> datetime:
    """The time pressed on a week (its `start`, with its zone); ValueError when there is none."""
    try:
        start = datetime.fromisoformat(posted.values.get("start", ""))
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        raise ValueError("pick one of the open times")
    return start


async def open_times(
    finder: AvailabilityDep, visit: Visit, week: Week, now: datetime
) -> list[datetime]:
    """The start of each free time for `visit` in `week`, as the API's availability gives."""
    lo, hi = week.span(now)
    found = await finder.slots(
        visit.service.key, visit.visit_type, visit.duration, lo, hi, visit.practitioner
    )
    return [slot.start for slot in found]
