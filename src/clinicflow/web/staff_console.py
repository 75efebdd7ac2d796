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

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, field_validator

from clinicflow.booking.api import AvailabilityDep, BookingReaderDep, BookingServiceDep
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain import access as booking_access
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.errors import HoldExpired, HoldMismatch, HoldNotFound, SlotUnavailable
from clinicflow.booking.schemas import PatientIn
from clinicflow.booking.views import BookingView
from clinicflow.catalog.api import LaunchesDep
from clinicflow.flags.api import FlagsDep
from clinicflow.identity.api import SessionsDep, UsersDep, set_session_cookie
from clinicflow.identity.users.errors import SecondFactorRequired
from clinicflow.infra.web import ClockDep
from clinicflow.patients import InvalidContact, PatientDetails, normalize_email, normalize_phone
from clinicflow.patients.api import PatientReaderDep
from clinicflow.patients.domain import access as patient_access
from clinicflow.patients.views import PatientView
from clinicflow.payments.domain import access as payment_access
from clinicflow.payments.orders.api import OrdersDep
from clinicflow.payments.refunds.api import RefundsDep
from clinicflow.payments.refunds.commands import RefundRequest
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from clinicflow.waitlist.domain import access as waitlist_access
from clinicflow.waitlist.domain.waves import launch_problems
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.web import passes
from clinicflow.web.booking_site import BadChoice, Visit, Week, chosen, open_times, posted_start
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Answered, Frame, FrameDep, PageRoute
from clinicflow.web.security import WebKeys, WebKeysDep, end_session

router = APIRouter(
    include_in_schema=False, default_response_class=HTMLResponse, route_class=PageRoute
)

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


@dataclass(frozen=True, slots=True)
class BusyBlock:
    """Time a practitioner's external calendar marks busy. Filled by the calendars issue
    (the external calendar sync); the calendar shows the slot for them, empty until then."""

    practitioner: str
    start: datetime
    end: datetime


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
    where: Where,
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
    busy: list[BusyBlock] = []  # external busy blocks: the calendars issue fills this
    return {
        "where": where,
        "groups": groups,
        "busy": busy,
        "practitioners": list(practitioners.values()),
        "shown_practitioner": practitioners.get(where.practitioner or ""),
        "first": where.first,
        "last": where.first + timedelta(days=where.days - 1),
        "section": "calendar",
        "action_words": ACTION_WORDS,
    }


@router.get("/staff/calendar")
async def calendar(
    page: FrameDep,
    bookings: BookingReaderDep,
    patients: PatientReaderDep,
    clock: ClockDep,
    view: str = "day",
    date_: Annotated[str, Query(alias="date", max_length=10)] = "",
    practitioner: str = "",
) -> Response:
    actor = _staff(page)
    where = _where(page, actor, clock.now(), view, date_, practitioner)
    try:
        context = await _calendar(page, actor, bookings, patients, where)
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
        context = await _calendar(page, actor, bookings, patients, where)
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


# -- patients ---------------------------------------------------------------------------------


@router.get("/staff/patients")
async def patient_search(page: FrameDep, reader: PatientReaderDep, q: str = "") -> Response:
    actor = _staff(page)
    posted = Posted({"q": q[:254]})
    found: list[PatientView] | None = None
    try:
        if not Can.of(actor).search:
            raise Forbidden("your role may not search patient records")
        if q.strip():
            email, phone = _contact(q.strip())
            found = await reader.search(actor, email=email, phone=phone)
    except InvalidContact as exc:
        posted.error("q", _sentence(str(exc)))
    except DomainError as exc:
        return _refused(page, exc)
    context = {"posted": posted, "found": found, "section": "patients"}
    return _render(page, "patients.html", context, status=422 if posted.errors else 200)


def _contact(q: str) -> tuple[str | None, str | None]:
    """An email when it has an @, else a phone number; normalized as the API does."""
    if "@" in q:
        return normalize_email(q), None
    return None, normalize_phone(q)


@router.get("/staff/patients/{patient_id}")
async def patient_record(page: FrameDep, reader: PatientReaderDep, patient_id: str) -> Response:
    actor = _staff(page)
    try:
        record = await reader.record(actor, patient_id)
    except DomainError as exc:
        return _refused(page, exc)
    tz = page.clinic_tz
    return _render(
        page,
        "record.html",
        {
            "record": record,
            "p": record.patient,
            "name": _full_name(record.patient),
            "tz": tz,
            "services": page.catalog.services,
            "practitioners": page.catalog.practitioners,
            "section": "patients",
        },
    )


# -- payments and refunds ---------------------------------------------------------------------


class RefundForm(BaseModel):
    booking_id: str | None = Field(default=None, max_length=64)
    amount: str | None = Field(default=None, max_length=16)
    reason: str = Field(default="", max_length=500, validate_default=True)
    key: str = Field(min_length=8, max_length=64)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _given(value, "say why the payment is refunded")


def _cents(amount: str | None) -> int | None:
    """Dollars as typed ("40", "40.50", "$40") in cents; None when left empty."""
    if not amount:
        return None
    text = amount.replace("$", "").replace(",", "").strip()
    whole, _, part = text.partition(".")
    if not whole.isdigit() or (part and (not part.isdigit() or len(part) > 2)):
        raise ValueError("give the amount in dollars, e.g. 40 or 40.50")
    cents = int(whole) * 100 + int((part or "0").ljust(2, "0"))
    if cents <= 0:
        raise ValueError("give an amount above zero, or leave it empty")
    return cents


async def _payment_page(
    page: Frame, actor: Actor, orders: OrdersDep, order_id: str, posted: Posted, status: int
) -> HTMLResponse:
    """The payment with its refunds, or the page refusing it (not found, not for the role)."""
    try:
        order = await orders.get(actor, order_id)
    except DomainError as exc:
        return _refused(page, exc)
    can = Can.of(actor)
    tz = page.clinic_tz
    return _render(
        page,
        "payment.html",
        {
            "order": order,
            "tz": tz,
            "services": page.catalog.services,
            "may_refund": can.refund and order.status in REFUNDABLE,
            "posted": posted,
            "key": secrets.token_urlsafe(16),
            "section": "calendar",
        },
        status=status,
    )


@router.get("/staff/payments/{order_id}")
async def payment(page: FrameDep, orders: OrdersDep, order_id: str) -> Response:
    return await _payment_page(page, _staff(page), orders, order_id, Posted({}), 200)


@router.post("/staff/payments/{order_id}/refund")
async def refund(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    orders: OrdersDep,
    refunds: RefundsDep,
    order_id: str,
) -> Response:
    posted, actor = await _staff_form(request, page, keys)
    form = validated(RefundForm, posted)
    cents = None
    try:
        cents = _cents(posted.values.get("amount"))
    except ValueError as exc:
        posted.error("amount", _sentence(str(exc)))
    try:
        if form is None or posted.errors:
            if not Can.of(actor).refund:
                raise Forbidden("your role may not refund payments")
            return await _payment_page(page, actor, orders, order_id, posted, 422)
        req = RefundRequest(form.booking_id or None, cents, form.reason)
        await refunds.refund(actor, order_id, req, f"web-{form.key}")
    except (NotFound, Forbidden, Unauthenticated) as exc:
        return _refused(page, exc)
    except DomainError as exc:
        posted.error("", _sentence(str(exc)))
        return await _payment_page(page, actor, orders, order_id, posted, exc.status)
    return RedirectResponse(f"/staff/payments/{order_id}#refunds", status_code=303)


# -- the waitlist -----------------------------------------------------------------------------


async def _waitlist_page(
    page: Frame,
    actor: Actor,
    waitlist: WaitlistDep,
    service: str,
    notice: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The waitlist of `service` (or the first), or the page refusing it to this role."""
    can = Can.of(actor)
    listed = [s for s in page.catalog.services.values() if s.waitlist]
    shown = page.catalog.services.get(service) if service else (listed[0] if listed else None)
    entries = None
    sizes = None
    try:
        if shown is not None and can.waitlist:
            entries = (await waitlist.entries.listed(actor, shown.key, None, 200, 0)).entries
        elif can.stats:
            sizes = {s.service: s for s in (await waitlist.stats.stats(actor)).services}
        elif not can.waitlist:
            raise Forbidden("your role may not list waitlist entries")
    except DomainError as exc:
        return _refused(page, exc)
    return _render(
        page,
        "waitlist.html",
        {
            "services": listed,
            "shown": shown,
            "entries": entries,
            "sizes": sizes,
            "problems": {s.key: [m for _, m in launch_problems(s)] for s in listed},
            "notice": notice,
            "problem": problem,
            "section": "waitlist",
            "tz": page.clinic_tz,
        },
        status=status,
    )


@router.get("/staff/waitlist")
async def waitlist_page(
    page: FrameDep, waitlist: WaitlistDep, launches: LaunchesDep, service: str = ""
) -> Response:
    actor = _staff(page)
    await launches.refresh()
    return await _waitlist_page(page, actor, waitlist, service)


@router.post("/staff/waitlist/{service}/launch")
async def launch(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    waitlist: WaitlistDep,
    launches: LaunchesDep,
    service: str,
) -> Response:
    await read_form(request, keys)
    actor = _staff(page)
    if service not in page.catalog.services:
        return _refused(page, NotFound("no such service"))
    try:
        launched = await waitlist.launches.launch(actor, service)
    except (NotFound, Forbidden, Unauthenticated) as exc:
        return _refused(page, exc)
    except DomainError as exc:
        said = _sentence(str(exc))
        return await _waitlist_page(page, actor, waitlist, service, problem=said, status=exc.status)
    await launches.refresh()
    invited = launched.wave.invited if launched.wave else 0
    name = page.catalog.services[service].name
    notice = f"{name} is launched and bookable. {invited} invitation{'s' * (invited != 1)} sent."
    return await _waitlist_page(page, actor, waitlist, service, notice=notice)


# -- feature flags ----------------------------------------------------------------------------


@router.get("/staff/flags")
async def flags_page(page: FrameDep, flags: FlagsDep) -> Response:
    actor = _staff(page)
    try:
        listed = await flags.list(actor)
    except DomainError as exc:
        return _refused(page, exc)
    return _render(page, "flags.html", {"flags": listed, "section": "flags", "tz": page.clinic_tz})


class InvalidFlag(DomainError):
    code = "invalid_flag"
    status = 422


class FlagForm(BaseModel):
    enabled: bool = False
    percentage: int = Field(default=100, ge=0, le=100)


@router.post("/staff/flags/{key}")
async def set_flag(
    request: Request, page: FrameDep, keys: WebKeysDep, flags: FlagsDep, key: str
) -> Response:
    posted, actor = await _staff_form(request, page, keys)
    form = validated(FlagForm, posted, {"enabled": posted.values.get("enabled") == "on"})
    try:
        if form is None:
            raise InvalidFlag("; ".join(posted.errors.values()))
        known = {f.key for f in await flags.list(actor)}
        if key not in known:
            raise NotFound("no such flag")
        await flags.set(actor, key, form.enabled, form.percentage)
    except DomainError as exc:
        return _refused(page, exc)
    return RedirectResponse(f"/staff/flags#flag-{key}", status_code=303)


# -- shared -----------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
