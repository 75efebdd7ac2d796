"""The staff console (`/staff`): the sign-in (password, and the authenticator code where the
account has one), a day and a week calendar per practitioner and for the whole clinic with
check-in / complete / no-show / cancel, booking on a patient's behalf, the patient search and
record, a visit's payment and its refunds, the waitlist ranked per service with the launch,
and the feature flags.

Every page calls the use cases the API's routes call, with the signed-in staff member as the
actor, so every rule and audit row is the API's: what a role may not do the use case refuses
here too. `Can` only decides which links and buttons to show, from the same access tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, field_validator

from clinicflow.booking.api import BookingReaderDep, BookingServiceDep
from clinicflow.booking.domain import access as booking_access
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.views import BookingView
from clinicflow.calendars.service import CalendarsService
from clinicflow.identity.api import SessionsDep, UsersDep, set_session_cookie
from clinicflow.identity.users.errors import SecondFactorRequired
from clinicflow.infra.web import ClockDep, provided
from clinicflow.patients.api import PatientReaderDep
from clinicflow.patients.domain import access as patient_access
from clinicflow.patients.views import PatientView
from clinicflow.payments.domain import access as payment_access
from clinicflow.payments.orders.api import OrdersDep
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from clinicflow.waitlist.domain import access as waitlist_access
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Answered, Frame, FrameDep, page_router
from clinicflow.web.security import WebKeys, WebKeysDep, end_session
from clinicflow.web.visit_risks import NoShowRiskReader, RiskReaderDep, visit_risks

# The external calendars' busy time on the calendar (the calendars context's service).
CalendarsDep = Annotated[CalendarsService, Depends(provided(CalendarsService))]

router = page_router()

HOME = "/staff"
SIGN_IN = "/staff/sign-in"  # the gateway rate-limits it as a sign-in (gateway/auth.py)
STAFF_HOLD_PASS = "staff_hold"  # noqa: S105 (a kind of pass, not a secret)
ACTIONS: dict[str, Action] = {
    a.value: a for a in (Action.CHECK_IN, Action.COMPLETE, Action.NO_SHOW, Action.CANCEL)
}
ACTION_WORDS = {
    "check-in": "Check in",
    "complete": "Complete",
    "no-show": "No-show",
    "cancel": "Cancel",
}
CALENDAR_LIMIT = 1000
REFUNDABLE = ("paid", "partially_refunded")


# -- who may use what -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Can:
    """What the signed-in staff member may use, from the access tables the use cases enforce
    (a link or button is shown only when its use case would let this role through)."""

    role: Role
    calendar: bool
    book: bool  # booking on a patient's behalf makes or matches a patient record
    search: bool
    record: bool
    names: bool  # patients' names beside their visits
    payments: bool
    refund: bool
    waitlist: bool
    stats: bool
    launch: bool
    flags: bool

    @classmethod
    def of(cls, actor: Actor) -> Can:
        patients = patient_access.Need
        payments = payment_access.Need
        waitlist = waitlist_access.Need
        return cls(
            role=actor.role,
            calendar=booking_access.role_may(actor, booking_access.Need.READ),
            book=patient_access.role_may(actor, patients.CREATE),
            search=patient_access.role_may(actor, patients.SEARCH),
            record=patient_access.role_may(actor, patients.RECORD),
            names=patient_access.role_may(actor, patients.READ),
            payments=payment_access.role_may(actor, payments.READ),
            refund=payment_access.role_may(actor, payments.REFUND),
            waitlist=waitlist_access.role_may(actor, waitlist.LIST),
            stats=waitlist_access.role_may(actor, waitlist.STATS),
            launch=waitlist_access.role_may(actor, waitlist.LAUNCH),
            flags=actor.role is Role.ADMIN,
        )

    def actions(self, actor: Actor, booking: BookingView) -> list[str]:
        """The calendar's buttons for `booking`: allowed from its status and for this role."""
        return [
            a
            for a in booking.actions
            if a in ACTIONS and booking_access.role_may(actor, booking_access.need_of(a))
        ]


def _staff(page: Frame) -> Actor:
    """The signed-in staff member; anyone else is sent to the sign-in page (`Answered`)."""
    if not page.actor.is_staff:
        raise Answered(RedirectResponse(HOME, status_code=303))
    return page.actor


async def _staff_form(request: Request, page: Frame, keys: WebKeys) -> tuple[Posted, Actor]:
    """A posted form (its CSRF token checked first) and the staff member who sent it."""
    posted = await read_form(request, keys)
    return posted, _staff(page)


def _render(
    page: Frame, template: str, context: Mapping[str, object], *, status: int = 200
) -> HTMLResponse:
    actor = page.actor
    return page.render(
        f"staff/{template}", {"can": Can.of(actor), "section": "", **context}, status=status
    )


def _problem(
    page: Frame, title: str, detail: str, status: int, again: str | None = None
) -> HTMLResponse:
    """The problem page: what went wrong in plain words, and where to try `again`."""
    context = {"title": title, "detail": detail} | ({"again": again} if again else {})
    return _render(page, "problem.html", context, status=status)


def _refused(page: Frame, exc: DomainError) -> HTMLResponse:
    """A use case's refusal as a page: a missing or foreign thing is a plain 404 that says
    nothing about whether it exists; a role's refusal a 403 in the use case's words."""
    if isinstance(exc, NotFound):
        title, detail, status = "Not found", "there is nothing here, or nothing you may open", 404
    elif isinstance(exc, Forbidden | Unauthenticated):
        title, detail, status = "Not for your role", str(exc), 403
    else:
        title, detail, status = "That did not work", str(exc), exc.status
    return _problem(page, title, detail, status)


def _may_book(actor: Actor) -> None:
    if not Can.of(actor).book:
        raise Forbidden("your role may not book visits for patients")


# -- sign in and out --------------------------------------------------------------------------


class SignInForm(BaseModel):
    username: str = Field(default="", max_length=254, validate_default=True)
    password: str = Field(default="", max_length=1024, validate_default=True)
    totp_code: str | None = Field(default=None, max_length=12)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return _given(value, "give your username")

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return _given(value, "give your password")


def _given(value: str, said: str) -> str:
    if not value.strip():
        raise ValueError(said)
    return value


@router.get(HOME)
async def home(page: FrameDep) -> Response:
    if not page.actor.is_staff:
        return _render(page, "sign_in.html", {"posted": Posted({})})
    if Can.of(page.actor).calendar:
        return RedirectResponse("/staff/calendar", status_code=303)
    return RedirectResponse("/staff/waitlist", status_code=303)


@router.post(SIGN_IN)
async def sign_in(
    request: Request, page: FrameDep, keys: WebKeysDep, users: UsersDep, clock: ClockDep
) -> Response:
    posted = await read_form(request, keys)
    form = validated(SignInForm, posted)
    if form is None:
        return _sign_in_again(page, posted, 422)
    address = request.client.host if request.client else None
    try:  # exactly as POST /v1/auth/login: the same back-off, the same refusals
        opened, _ = await users.login(form.username, form.password, form.totp_code, address=address)
    except SecondFactorRequired as exc:
        posted.error("totp_code", _sentence(str(exc)))
        return _sign_in_again(page, posted, exc.status)
    except DomainError as exc:
        posted.error("", _sentence(str(exc)))
        return _sign_in_again(page, posted, exc.status)
    response = RedirectResponse(HOME, status_code=303)
    set_session_cookie(request, response, opened, clock.now())
    return response


def _sign_in_again(page: Frame, posted: Posted, status: int) -> HTMLResponse:
    posted.values.pop("password", None)  # never echoed
    posted.values.pop("totp_code", None)
    return _render(page, "sign_in.html", {"posted": posted}, status=status)


@router.post("/staff/sign-out")
async def sign_out(request: Request, keys: WebKeysDep, sessions: SessionsDep) -> Response:
    await read_form(request, keys)
    return await end_session(request, sessions, HOME)


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


def _full_name(patient: PatientView) -> str:
    return " ".join(p for p in (patient.first_name, patient.last_name) if p) or "(no name)"


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


# -- shared -----------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
