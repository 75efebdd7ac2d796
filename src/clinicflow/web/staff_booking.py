"""The staff console's booking on a patient's behalf (`/staff/book`): the same hold and
book use cases as the booking site, with the staff member as the actor."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinicflow.booking.api import AvailabilityDep, BookingServiceDep
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.errors import HoldExpired, HoldMismatch, HoldNotFound, SlotUnavailable
from clinicflow.booking.schemas import PatientIn
from clinicflow.catalog.api import LaunchesDep
from clinicflow.infra.web import ClockDep
from clinicflow.patients import PatientDetails
from clinicflow.patients.api import PatientReaderDep
from clinicflow.patients.views import PatientView
from clinicflow.shared.actor import Actor
from clinicflow.shared.errors import DomainError
from clinicflow.web import passes
from clinicflow.web.forms import Posted, validated
from clinicflow.web.open_times import BadChoice, Visit, Week, chosen, open_times, posted_start
from clinicflow.web.pages import Answered, Frame, FrameDep, page_router
from clinicflow.web.security import WebKeys, WebKeysDep
from clinicflow.web.staff_console import (
    STAFF_HOLD_PASS,
    _may_book,
    _problem,
    _refused,
    _render,
    _sentence,
    _staff,
    _staff_form,
)

router = page_router()


# -- booking on a patient's behalf ------------------------------------------------------------


def _visit_choices(page: Frame) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(service key, name, [(value, label)]) of every visit bookable now."""
    out = []
    for s in page.catalog.services.values():
        if not s.bookable:
            continue
        options = [
            (
                f"{s.key}:{vt.key}:{minutes}",
                f"{vt.key.replace('followup', 'follow-up').capitalize()} visit, {minutes} min",
            )
            for vt in s.visit_types.values()
            for minutes in vt.durations or ()
        ]
        out.append((s.key, s.name, options))
    return out


def _visit_of(page: Frame, value: str, practitioner: str) -> Visit:
    service, _, rest = value.partition(":")
    visit_type, _, minutes = rest.partition(":")
    try:
        duration = int(minutes)
    except ValueError:
        raise BadChoice("pick a visit from the list") from None
    return chosen(page.catalog, service, visit_type, duration, practitioner or None)


async def _patient(
    actor: Actor, reader: PatientReaderDep, patient_id: str | None
) -> PatientView | None:
    return await reader.get(actor, patient_id) if patient_id else None


@router.get("/staff/book")
async def book_start(
    page: FrameDep,
    patients: PatientReaderDep,
    launches: LaunchesDep,
    finder: AvailabilityDep,
    clock: ClockDep,
    visit: str = "",
    practitioner: str = "",
    patient: str = "",
    week: date | None = None,
) -> Response:
    """Step 1, the visit (and, once chosen, the week of open times below it)."""
    actor = _staff(page)
    await launches.refresh()
    try:
        _may_book(actor)
        who = await _patient(actor, patients, patient or None)
    except DomainError as exc:
        return _refused(page, exc)
    context: dict[str, object] = {
        "choices": _visit_choices(page),
        "practitioners": list(page.catalog.practitioners.values()),
        "visit_value": visit,
        "practitioner": practitioner,
        "who": who,
        "patient_id": patient,
        "section": "book",
        "problem": None,
        "visit": None,
    }
    if visit:
        try:
            chosen_visit = _visit_of(page, visit, practitioner)
        except BadChoice as exc:
            context["problem"] = _sentence(str(exc))
            return _render(page, "book.html", context, status=400)
        now = clock.now()
        days = Week.of(page, week, now)
        chosen_ones = {"visit": visit, "practitioner": practitioner, "patient": patient}
        context |= days.shown(
            await open_times(finder, chosen_visit, days, now),
            action="/staff/book/hold",
            fields=[(name, value) for name, value in chosen_ones.items() if value],
            href=lambda day: "/staff/book?" + urlencode(chosen_ones | {"week": day.isoformat()}),
        )
        context["visit"] = chosen_visit
    return _render(page, "book.html", context)


@router.post("/staff/book/hold")
async def book_hold(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    bookings: BookingServiceDep,
    clock: ClockDep,
) -> Response:
    posted, actor = await _staff_form(request, page, keys)
    v = posted.values
    try:
        _may_book(actor)
        visit = _visit_of(page, v.get("visit", ""), v.get("practitioner", ""))
        start = posted_start(posted)
        held = await bookings.hold(
            SlotRequest(
                visit.service.key, visit.visit_type, visit.duration, start, visit.practitioner
            )
        )
    except (BadChoice, ValueError) as exc:
        return _problem(page, "Pick a time", str(exc), 400)
    except DomainError as exc:
        return _problem(page, "That time is not free", str(exc), exc.status, "/staff/book")
    facts: passes.JsonFacts = {
        "id": held.id,
        "visit": v.get("visit", ""),
        "practitioner": held.practitioner,
        "start": held.start.isoformat(),
        "patient": v.get("patient") or None,
    }
    expires = (held.hold_expires_at or clock.now()) + timedelta(minutes=30)
    token = passes.issue(keys, STAFF_HOLD_PASS, facts, expires)
    return RedirectResponse(f"/staff/book/hold/{token}", status_code=303)


async def _held_page(
    page: Frame,
    actor: Actor,
    patients: PatientReaderDep,
    facts: passes.JsonFacts,
    token: str,
    posted: Posted,
    status: int,
) -> HTMLResponse:
    visit = _visit_of(page, str(facts["visit"]), "")
    start = datetime.fromisoformat(str(facts["start"])).astimezone(page.clinic_tz)
    who = await _patient(actor, patients, str(facts["patient"]) if facts["patient"] else None)
    return _render(
        page,
        "book_details.html",
        {
            "visit": visit,
            "start": start,
            "practitioner": page.catalog.practitioners[str(facts["practitioner"])],
            "who": who,
            "token": token,
            "posted": posted,
            "section": "book",
        },
        status=status,
    )


@router.get("/staff/book/hold/{token}")
async def book_details(
    page: FrameDep, keys: WebKeysDep, patients: PatientReaderDep, clock: ClockDep, token: str
) -> Response:
    actor = _staff(page)
    facts = _held(page, keys, token, clock.now())
    try:
        return await _held_page(page, actor, patients, facts, token, Posted({}), 200)
    except DomainError as exc:
        return _refused(page, exc)
    except BadChoice:
        return _lapsed(page)


@router.post("/staff/book/hold/{token}")
async def book_confirm(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    bookings: BookingServiceDep,
    patients: PatientReaderDep,
    clock: ClockDep,
    token: str,
) -> Response:
    posted, actor = await _staff_form(request, page, keys)
    facts = _held(page, keys, token, clock.now())
    try:
        _may_book(actor)
        who = await _patient(actor, patients, str(facts["patient"]) if facts["patient"] else None)
        visit = _visit_of(page, str(facts["visit"]), "")
    except DomainError as exc:
        return _refused(page, exc)
    except BadChoice as exc:
        return _problem(page, "Pick again", str(exc), 400, "/staff/book")
    details: PatientDetails | None
    if who is not None:  # an existing patient: booking matches the record by its contacts
        details = PatientDetails(who.first_name or "", who.last_name or "", who.email, who.phone)
    else:
        given = validated(PatientIn, posted)
        if given is None:
            return await _held_page(page, actor, patients, facts, token, posted, 422)
        details = given.details()
    start = datetime.fromisoformat(str(facts["start"]))
    slot = SlotRequest(
        visit.service.key, visit.visit_type, visit.duration, start, str(facts["practitioner"])
    )
    hold_id = str(facts["id"])
    try:
        made, _ = await bookings.book(
            actor, BookRequest(slot, details, hold_id), f"staff-hold-{hold_id}"
        )
    except (HoldExpired, HoldNotFound, HoldMismatch, SlotUnavailable) as exc:
        again = f"/staff/book?{urlencode({'visit': str(facts['visit'])})}"
        return _problem(page, "That time is gone", f"{exc}; pick another time", exc.status, again)
    except DomainError as exc:
        posted.error("", _sentence(str(exc)))
        return await _held_page(page, actor, patients, facts, token, posted, exc.status)
    return RedirectResponse(f"/staff/bookings/{made.id}", status_code=303)


def _held(page: Frame, keys: WebKeys, token: str, now: datetime) -> passes.JsonFacts:
    """The hold's pass, or (forged, expired) the page saying it has run out (`Answered`)."""
    facts = passes.read(keys, STAFF_HOLD_PASS, token, now)
    if facts is None:
        raise Answered(_lapsed(page))
    return facts


def _lapsed(page: Frame) -> HTMLResponse:
    detail = "the time was kept for a few minutes only; pick a time again"
    return _problem(page, "This hold has run out", detail, 410, "/staff/book")
