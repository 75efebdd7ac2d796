"""The booking site's last steps (`booking_site.py` has the first): the patient's details
under the hold (`/book/hold/{pass}`), and the confirmation with "add to calendar"
(`/book/done/{pass}`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from icalendar import Calendar, Event

from clinicflow.booking.api import AvailabilityDep, BookingServiceDep
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.errors import HoldExpired, HoldMismatch, HoldNotFound, SlotUnavailable
from clinicflow.booking.schemas import PatientIn
from clinicflow.infra.web import ClockDep
from clinicflow.payments.orders.api import OrdersDep
from clinicflow.shared.errors import DomainError
from clinicflow.web import passes
from clinicflow.web.booking_site import HOLD_PASS, _hold_facts, _int, _problem, _taken
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.open_times import Visit, chosen
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


def _lapsed(page: Frame) -> HTMLResponse:
    return _problem(
        page,
        "This hold has run out",
        "the time was kept for you for a few minutes only; pick a time again",
        410,
    )
