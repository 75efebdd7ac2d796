"""The booking site, for anyone: the services (`/`), a week of open times (`/book`) and the
short hold on the time pressed (`POST /book/hold`); `booking_details.py` has the steps after
it. Four steps from landing to confirmation; every step a plain form or link, so the path
works without JavaScript (htmx only swaps the week). The week and the visit chosen are
`open_times.py`'s, as on every face that offers times.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinicflow.booking.api import AvailabilityDep, BookingServiceDep
from clinicflow.booking.commands import SlotRequest
from clinicflow.booking.views import BookingView, SlotView
from clinicflow.catalog import Service
from clinicflow.catalog.api import LaunchesDep
from clinicflow.infra.web import ClockDep
from clinicflow.shared.errors import DomainError
from clinicflow.web import passes
from clinicflow.web.forms import Posted, read_form
from clinicflow.web.open_times import BadChoice, Visit, Week, chosen, open_times, posted_start
from clinicflow.web.pages import Frame, FrameDep
from clinicflow.web.security import WebKeysDep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

HOLD_PASS = "hold"  # noqa: S105 (a kind of pass, not a secret)
NEAREST = 4  # free times offered when the one asked for was taken


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


# -- shared -----------------------------------------------------------------------------------


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _problem(page: Frame, title: str, detail: str, status: int) -> HTMLResponse:
    return page.render("problem.html", {"title": title, "detail": detail}, status=status)
