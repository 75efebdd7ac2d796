"""The booking site, for anyone: the services (`/`), a week of open times (`/book`), a short
hold while the patient gives their details (`/book/hold/{pass}`), and the confirmation with
"add to calendar" (`/book/done/{pass}`). Four steps from landing to confirmation; every step a
plain form or link, so the path works without JavaScript (htmx only swaps the week).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from icalendar import Calendar, Event

from clinicflow.booking.api import AvailabilityDep, BookingServiceDep
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.errors import HoldExpired, HoldMismatch, HoldNotFound, SlotUnavailable
from clinicflow.booking.schemas import PatientIn
from clinicflow.booking.views import BookingView, SlotView
from clinicflow.catalog import Catalog, Service
from clinicflow.catalog.api import LaunchesDep
from clinicflow.infra.web import ClockDep
from clinicflow.payments.orders.api import OrdersDep
from clinicflow.shared.errors import DomainError
from clinicflow.web import passes
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Frame, FrameDep
from clinicflow.web.paying import (
    BOOKED_PASS,
    BOOKED_PASS_DAYS,
    PayOptions,
    PayOptionsDep,
    payment_of,
)
from clinicflow.web.security import WebKeys, WebKeysDep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

HOLD_PASS = "hold"  # noqa: S105 (a kind of pass, not a secret)
NEAREST = 4  # free times offered when the one asked for was taken


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


# -- step 1: the services ---------------------------------------------------------------------


def home_context(page: Frame) -> dict[str, object]:
    """The services, as the home page lists them; `joining` names the coming service whose
    waitlist form was posted (`posted`: its values and messages; web/waitlist_pages.py)."""
    services = list(page.catalog.services.values())
    return {
        "bookable": [s for s in services if s.bookable],
        "coming": [s for s in services if not s.active and s.waitlist],
        "not_yet": [(s, why_not_yet(s)) for s in services if s.active and not s.bookable],
        "joining": "",
        "posted": Posted({}),
    }


@router.get("/")
async def home(page: FrameDep, launches: LaunchesDep) -> HTMLResponse:
    await launches.refresh()  # a service launched on another replica shows as bookable
    return page.render("home.html", home_context(page))


def why_not_yet(service: Service) -> str:
    """The catalog's reasons in a patient's words (the API lists them one by one)."""
    tbd = [
        vt for vt in service.visit_types.values() if vt.durations is None or vt.price_cents is None
    ]
    if tbd:
        return "Its visit lengths and prices are still being decided. Please check back soon."
    if not service.calendars:
        return "No practitioner offers it at the moment."
    return " ".join(r[:1].upper() + r[1:] + "." for r in service.reasons)


# -- step 2: a week of open times -------------------------------------------------------------


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


async def week_times(
    page: Frame, finder: AvailabilityDep, visit: Visit, week: Week, now: datetime
) -> dict[str, object]:
    """The booking site's week of `visit`: its times post to the hold step."""
    shown = week.shown(
        await open_times(finder, visit, week, now),
        action="/book/hold",
        fields=visit.fields(),
        href=lambda day: f"/book?{visit.query(week=day.isoformat())}",
    )
    practitioners = [page.catalog.practitioners[k] for k in visit.service.calendars]
    return shown | {"visit": visit, "practitioners": practitioners}


@router.get("/book")
async def week(
    page: FrameDep,
    finder: AvailabilityDep,
    clock: ClockDep,
    launches: LaunchesDep,
    service: str = "",
    visit_type: str = "",
    duration: Annotated[int, Query(ge=0, le=1440)] = 0,
    practitioner: str = "",
    week: date | None = None,
) -> HTMLResponse:
    await launches.refresh()
    try:
        visit = chosen(page.catalog, service, visit_type, duration, practitioner)
    except BadChoice as exc:
        return _problem(page, "That visit cannot be booked", str(exc), 400)
    now = clock.now()
    context = await week_times(page, finder, visit, Week.of(page, week, now), now)
    return page.render("book_week.html", context, block="week")


async def _nearest(
    page: Frame, finder: AvailabilityDep, visit: Visit, asked: datetime, now: datetime
) -> list[SlotView]:
    lo = max(asked - timedelta(days=1), now)
    found = await finder.slots(
        visit.service.key,
        visit.visit_type,
        visit.duration,
        lo,
        lo + timedelta(days=4),
        visit.practitioner,
    )
    others = [s for s in found if s.start != asked]
    return sorted(others, key=lambda s: abs(s.start - asked))[:NEAREST]


@router.post("/book/hold")
async def hold(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    finder: AvailabilityDep,
    bookings: BookingServiceDep,
    clock: ClockDep,
) -> Response:
    posted = await read_form(request, keys)
    v = posted.values
    try:
        visit = chosen(
            page.catalog,
            v.get("service", ""),
            v.get("visit_type", ""),
            _int(v.get("duration")),
            v.get("practitioner") or None,
        )
        start = posted_start(posted)
    except BadChoice as exc:
        return _problem(page, "That visit cannot be booked", str(exc), 400)
    except ValueError:
        return _problem(page, "Pick a time", "choose one of the open times on the week", 400)
    slot = SlotRequest(
        visit.service.key, visit.visit_type, visit.duration, start, visit.practitioner
    )
    now = clock.now()
    try:
        held = await bookings.hold(slot)
    except DomainError as exc:
        return await _taken(page, finder, visit, start, now, str(exc))
    token = passes.issue(keys, HOLD_PASS, _hold_facts(held), _hold_expiry(held, now))
    return RedirectResponse(f"/book/hold/{token}", status_code=303)


async def _taken(
    page: Frame,
    finder: AvailabilityDep,
    visit: Visit,
    asked: datetime,
    now: datetime,
    detail: str,
) -> HTMLResponse:
    """The time asked for is gone: say so, with the nearest free ones and the week."""
    week = Week.of(page, asked.astimezone(page.clinic_tz).date(), now)
    context = await week_times(page, finder, visit, week, now)
    context |= {
        "taken": detail,
        "nearest": await _nearest(page, finder, visit, asked, now),
    }
    return page.render("book_week.html", context, status=409)


def _hold_facts(held: BookingView) -> passes.JsonFacts:
    return {
        "id": held.id,
        "service": held.service,
        "visit_type": held.visit_type,
        "duration": held.duration,
        "practitioner": held.practitioner,
        "start": held.start.isoformat(),
    }


def _hold_expiry(held: BookingView, now: datetime) -> datetime:
    # The page stays usable a little past the hold: booking after it lapsed is still tried
    # (the slot may be free) and, if taken, answered with the nearest free times.
    return (held.hold_expires_at or now) + timedelta(minutes=30)


# -- step 3: the patient's details ------------------------------------------------------------


def _held(page: Frame, keys: WebKeys, token: str, now: datetime) -> passes.JsonFacts | None:
    return passes.read(keys, HOLD_PASS, token, now)


def _visit_of(page: Frame, facts: passes.JsonFacts) -> tuple[Visit, datetime, str]:
    visit = chosen(
        page.catalog,
        str(facts["service"]),
        str(facts["visit_type"]),
        _int(facts["duration"]),
        None,
    )
    return visit, datetime.fromisoformat(str(facts["start"])), str(facts["practitioner"])


@router.get("/book/hold/{token}")
async def details(
    page: FrameDep, keys: WebKeysDep, clock: ClockDep, options: PayOptionsDep, token: str
) -> HTMLResponse:
    facts = _held(page, keys, token, clock.now())
    if facts is None:
        return _lapsed(page)
    return _details_page(page, options, facts, token, Posted({}), 200)


def _details_page(
    page: Frame,
    options: PayOptions,
    facts: passes.JsonFacts,
    token: str,
    posted: Posted,
    status: int,
) -> HTMLResponse:
    visit, start, practitioner = _visit_of(page, facts)
    return page.render(
        "book_details.html",
        {
            "visit": visit,
            "start": start.astimezone(page.clinic_tz),
            "practitioner": page.catalog.practitioners[practitioner],
            "token": token,
            "posted": posted,
            "choices": options.choices(page),
        },
        status=status,
    )


@router.post("/book/hold/{token}")
async def book(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    finder: AvailabilityDep,
    bookings: BookingServiceDep,
    clock: ClockDep,
    options: PayOptionsDep,
    token: str,
) -> Response:
    now = clock.now()
    posted = await read_form(request, keys)
    facts = _held(page, keys, token, now)
    if facts is None:
        return _lapsed(page)
    choices = options.choices(page)
    payment = posted.values.get("payment") or choices[0]
    if payment not in choices:
        posted.error("payment", "Choose one of the ways to pay shown.")
    patient = validated(PatientIn, posted)
    if patient is None or posted.errors:
        return _details_page(page, options, facts, token, posted, 422)
    visit, start, practitioner = _visit_of(page, facts)
    slot = SlotRequest(visit.service.key, visit.visit_type, visit.duration, start, practitioner)
    hold_id = str(facts["id"])
    try:
        # Keyed by the hold: a second press of the button (or a retry) books once.
        made, _ = await bookings.book(
            page.actor, BookRequest(slot, patient.details(), hold_id), f"web-hold-{hold_id}"
        )
    except (HoldExpired, HoldNotFound, HoldMismatch, SlotUnavailable) as exc:
        return await _taken(page, finder, visit, start, now, str(exc))
    except DomainError as exc:
        posted.error("", str(exc))
        return _details_page(page, options, facts, token, posted, exc.status)
    # The pass carries the booking's patient for the pay step's narrow payer (web/paying.py).
    booked_facts = _hold_facts(made) | {"patient": made.patient_id, "pay": payment}
    booked = passes.issue(keys, BOOKED_PASS, booked_facts, now + timedelta(days=BOOKED_PASS_DAYS))
    if payment != "clinic":
        return RedirectResponse(f"/book/pay/{booked}", status_code=303)
    return RedirectResponse(f"/book/done/{booked}", status_code=303)


# -- step 4: the confirmation -----------------------------------------------------------------


@router.get("/book/done/{token}")
async def done(
    page: FrameDep, keys: WebKeysDep, clock: ClockDep, orders: OrdersDep, token: str
) -> HTMLResponse:
    facts = passes.read(keys, BOOKED_PASS, token, clock.now())
    if facts is None:
        return _problem(
            page,
            "This confirmation link has expired",
            "your booking stands; its details are in the email we sent, and in your area "
            "after signing in",
            404,
        )
    visit, start, practitioner = _visit_of(page, facts)
    return page.render(
        "book_done.html",
        {
            "visit": visit,
            "start": start.astimezone(page.clinic_tz),
            "end": (start + timedelta(minutes=visit.duration)).astimezone(page.clinic_tz),
            "practitioner": page.catalog.practitioners[practitioner],
            "token": token,
            "pay": facts.get("pay") or "clinic",
            "order": await payment_of(orders, facts),
        },
    )


@router.get("/book/done/{token}/visit.ics")
async def calendar_file(page: FrameDep, keys: WebKeysDep, clock: ClockDep, token: str) -> Response:
    facts = passes.read(keys, BOOKED_PASS, token, clock.now())
    if facts is None:
        return _problem(page, "This link has expired", "sign in to your area for the visit", 404)
    visit, start, practitioner = _visit_of(page, facts)
    cal = Calendar()
    cal.add("prodid", "-//clinicflow//booking site//EN")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"{facts['id']}@clinicflow")
    event.add("dtstamp", clock.now())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=visit.duration))
    who = page.catalog.practitioners[practitioner].name
    event.add("summary", f"{visit.service.name} with {who}")
    event.add("location", page.catalog.clinic.name)
    cal.add_component(event)
    return Response(
        cal.to_ical(),
        media_type="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="visit.ics"'},
    )


# -- shared -----------------------------------------------------------------------------------


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _lapsed(page: Frame) -> HTMLResponse:
    return _problem(
        page,
        "This hold has run out",
        "the time was kept for you for a few minutes only; pick a time again",
        410,
    )


def _problem(page: Frame, title: str, detail: str, status: int) -> HTMLResponse:
    return page.render("problem.html", {"title": title, "detail": detail}, status=status)
