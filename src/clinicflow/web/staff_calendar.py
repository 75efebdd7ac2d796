"""The staff console's calendar (`/staff/calendar`): a day or a week per practitioner or for
the whole clinic, beside the external calendars' busy time and the no-show risks, with
check-in / complete / no-show / cancel on each visit, and a visit's own page
(`/staff/bookings/{id}`) with its payment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.booking.api import BookingReaderDep, BookingServiceDep
from clinicflow.booking.views import BookingView
from clinicflow.calendars.service import CalendarsService
from clinicflow.infra.web import ClockDep, provided
from clinicflow.patients.api import PatientReaderDep
from clinicflow.payments.orders.api import OrdersDep
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from clinicflow.web.forms import Posted
from clinicflow.web.pages import Frame, FrameDep, page_router
from clinicflow.web.security import WebKeysDep
from clinicflow.web.staff_console import (
    ACTIONS,
    Can,
    _full_name,
    _refused,
    _render,
    _sentence,
    _staff,
    _staff_form,
)
from clinicflow.web.visit_risks import NoShowRiskReader, RiskReaderDep, visit_risks

# The external calendars' busy time on the calendar (the calendars context's service).
CalendarsDep = Annotated[CalendarsService, Depends(provided(CalendarsService))]

router = page_router()

ACTION_WORDS = {
    "check-in": "Check in",
    "complete": "Complete",
    "no-show": "No-show",
    "cancel": "Cancel",
}
CALENDAR_LIMIT = 1000


# -- the calendar -----------------------------------------------------------------------------

View = Literal["day", "week"]


@dataclass(frozen=True, slots=True)
class Where:
    """Which calendar: a day or a week, from `day`, for one practitioner or the clinic."""

    view: View
    day: date
    practitioner: str | None

    @property
    def first(self) -> date:
        return self.day if self.view == "day" else self.day - timedelta(days=self.day.weekday())

    @property
    def days(self) -> int:
        return 1 if self.view == "day" else 7

    def query(self, **over: str) -> str:
        params = {"view": self.view, "date": self.day.isoformat()}
        if self.practitioner:
            params["practitioner"] = self.practitioner
        return urlencode(params | over)

    def step(self, sign: int) -> str:
        return self.query(date=(self.first + timedelta(days=sign * self.days)).isoformat())


@dataclass(frozen=True, slots=True)
class Row:
    booking: BookingView
    start: datetime  # in the clinic's zone
    end: datetime
    patient: str | None  # the patient's name, for roles that may read it
    actions: list[str]


@dataclass(frozen=True, slots=True)
class Group:
    heading: str
    key: str
    rows: list[Row]


def _where(
    page: Frame, actor: Actor, now: datetime, view: str, on: str, practitioner: str
) -> Where:
    try:
        day = date.fromisoformat(on)
    except ValueError:
        day = now.astimezone(page.clinic_tz).date()
    chosen_one = practitioner if practitioner in page.catalog.practitioners else None
    if actor.role is Role.PRACTITIONER:
        chosen_one = actor.practitioner  # their own schedule only (the use case insists)
    return Where("week" if view == "week" else "day", day, chosen_one)


async def _names(
    actor: Actor, can: Can, reader: PatientReaderDep, ids: Iterable[str | None]
) -> dict[str, str]:
    """Each patient's name as the patient read gives it (one audited read each), for roles
    that may read patients; nothing for the others (an analyst sees no names)."""
    if not can.names:
        return {}
    names: dict[str, str] = {}
    for patient_id in dict.fromkeys(i for i in ids if i):
        try:
            patient = await reader.get(actor, patient_id)
        except DomainError:
            continue
        names[patient_id] = _full_name(patient)
    return names


async def _calendar(
    page: Frame,
    actor: Actor,
    bookings: BookingReaderDep,
    patients: PatientReaderDep,
    calendars: CalendarsService,
    where: Where,
    risks: NoShowRiskReader,
    now: datetime,
) -> dict[str, object]:
    tz = page.clinic_tz
    lo = datetime.combine(where.first, time(), tz)
    hi = datetime.combine(where.first + timedelta(days=where.days), time(), tz)
    found = await bookings.search(actor, where.practitioner, lo, hi, CALENDAR_LIMIT)
    found = [b for b in found if b.status != "expired"]
    can = Can.of(actor)
    names = await _names(actor, can, patients, (b.patient_id for b in found))
    rows = [
        Row(
            b,
            b.start.astimezone(tz),
            b.end.astimezone(tz),
            names.get(b.patient_id or ""),
            can.actions(actor, b),
        )
        for b in sorted(found, key=lambda b: (b.start, b.practitioner))
    ]
    practitioners = page.catalog.practitioners
    groups: list[Group]
    if where.view == "week":
        by_day: dict[date, list[Row]] = {
            where.first + timedelta(days=i): [] for i in range(where.days)
        }
        for row in rows:
            by_day.setdefault(row.start.date(), []).append(row)
        groups = [Group(f"{d:%A} {d.day} {d:%B}", d.isoformat(), r) for d, r in by_day.items()]
    else:
        keys = [where.practitioner] if where.practitioner else list(practitioners)
        by_who: dict[str, list[Row]] = {k: [] for k in keys}
        for row in rows:
            by_who.setdefault(row.booking.practitioner, []).append(row)
        groups = [
            Group(practitioners[k].name if k in practitioners else k, k, r)
            for k, r in by_who.items()
        ]
    keys = [where.practitioner] if where.practitioner else list(practitioners)
    external = await calendars.external(actor, keys, lo, hi)
    ahead = [b.id for b in found if b.status == "confirmed" and b.start > now]
    return {
        "where": where,
        "groups": groups,
        "external": external,
        "names": {k: p.name for k, p in practitioners.items()},
        "practitioners": list(practitioners.values()),
        "shown_practitioner": practitioners.get(where.practitioner or ""),
        "first": where.first,
        "last": where.first + timedelta(days=where.days - 1),
        "section": "calendar",
        "action_words": ACTION_WORDS,
        "risks": await visit_risks(risks, actor, page.catalog, ahead, now),
    }


@router.get("/staff/calendar")
async def calendar(
    page: FrameDep,
    bookings: BookingReaderDep,
    patients: PatientReaderDep,
    calendars: CalendarsDep,
    risks: RiskReaderDep,
    clock: ClockDep,
    view: str = "day",
    date_: Annotated[str, Query(alias="date", max_length=10)] = "",
    practitioner: str = "",
) -> Response:
    actor = _staff(page)
    where = _where(page, actor, clock.now(), view, date_, practitioner)
    try:
        context = await _calendar(
            page, actor, bookings, patients, calendars, where, risks, clock.now()
        )
    except DomainError as exc:
        return _refused(page, exc)
    return _render(page, "calendar.html", context)


def _back(posted: Posted, page: Frame, actor: Actor, now: datetime) -> Where:
    """The calendar a button was pressed on (its hidden fields), to go back to."""
    v = posted.values
    return _where(
        page, actor, now, v.get("view", "day"), v.get("date", ""), v.get("practitioner", "")
    )


@router.post("/staff/bookings/{booking_id}/{action}")
async def act(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    service: BookingServiceDep,
    bookings: BookingReaderDep,
    patients: PatientReaderDep,
    calendars: CalendarsDep,
    risks: RiskReaderDep,
    clock: ClockDep,
    booking_id: str,
    action: str,
) -> Response:
    posted, actor = await _staff_form(request, page, keys)
    chosen_action = ACTIONS.get(action)
    if chosen_action is None:
        return _refused(page, NotFound("no such action"))
    where = _back(posted, page, actor, clock.now())
    reason = posted.values.get("reason") or None
    try:
        await service.act(actor, booking_id, chosen_action, reason)
    except (NotFound, Forbidden, Unauthenticated) as exc:
        return _refused(page, exc)
    except DomainError as exc:
        now = clock.now()
        context = await _calendar(page, actor, bookings, patients, calendars, where, risks, now)
        context["problem"] = _sentence(str(exc))
        return _render(page, "calendar.html", context, status=exc.status)
    if posted.values.get("from") == "booking":
        return RedirectResponse(f"/staff/bookings/{booking_id}", status_code=303)
    return RedirectResponse(f"/staff/calendar?{where.query()}#b-{booking_id}", status_code=303)


@router.get("/staff/bookings/{booking_id}")
async def booking(
    page: FrameDep,
    bookings: BookingReaderDep,
    patients: PatientReaderDep,
    orders: OrdersDep,
    booking_id: str,
) -> Response:
    actor = _staff(page)
    can = Can.of(actor)
    try:
        found = await bookings.get(actor, booking_id)
        order = await orders.of_booking(actor, booking_id) if can.payments else None
    except DomainError as exc:
        return _refused(page, exc)
    names = await _names(actor, can, patients, [found.patient_id])
    tz = page.clinic_tz
    return _render(
        page,
        "booking.html",
        {
            "b": found,
            "start": found.start.astimezone(tz),
            "end": found.end.astimezone(tz),
            "patient": names.get(found.patient_id or ""),
            "service": page.catalog.services.get(found.service),
            "practitioner": page.catalog.practitioners.get(found.practitioner),
            "actions": can.actions(actor, found),
            "order": order,
            "section": "calendar",
            "action_words": ACTION_WORDS,
        },
    )
