"""The patient's own area: the page the emailed sign-in link opens (`/sign-in`), the visits
and waitlist places (`/me`), one visit with reschedule and cancel within the clinic's policy
(`/me/visits/{id}`), receipts (`/me/receipts/{id}`, HTML and PDF) and the patient's contact
details and consents (`/me/details`).

Signed out, every `/me…` page answers 200 with a page that says why and offers to email a
sign-in link that leads back to it. A visit or receipt that is not the patient's answers the
same 404 page as one that does not exist (the use cases decide; they audit the refusal).
Inside the policy's late window (less than `full_refund_hours` before the start, where a fee
is kept) the page offers "contact the clinic" instead of changing the visit online, and the
server refuses a change posted anyway. The refund shown before cancelling is
`RefundService.preview`, the rule the refund made after the cancellation uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from clinicflow.booking.api import AvailabilityDep, BookingReaderDep, BookingServiceDep
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.views import BookingView
from clinicflow.identity.api import (
    SIGN_IN,
    SIGN_IN_LINK,
    PatientLinksDep,
    SessionsDep,
    set_session_cookie,
)
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.sessions.domain.link import local_page
from clinicflow.infra.web import ClockDep
from clinicflow.patients.api import PatientReaderDep
from clinicflow.patients.domain.contact import InvalidContact, normalize_email
from clinicflow.payments.domain.refunds import is_late
from clinicflow.payments.refunds.api import RefundsDep
from clinicflow.payments.refunds.views import RefundPreview
from clinicflow.shared.errors import DomainError
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.web.booking_site import BadChoice, Week, chosen, open_times, posted_start
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Answered, Frame, FrameDep, page_router
from clinicflow.web.security import WebKeysDep, end_session
from clinicflow.web.waitlist_pages import patient_entries

router = page_router()

HOME = "/me"
CHANNELS = (("email", "Email"), ("sms", "Text messages (SMS)"), ("push", "Notifications"))
DETAIL_FIELDS = ("first_name", "last_name", "email", "phone", "pronouns")
ACTIVE = ("confirmed", "checked_in")
CANCEL_REASON = "cancelled by the patient online"
LINK_SENT = "If a patient record has this email, a sign-in link is on its way to it."


# -- signing in and out -----------------------------------------------------------------------


def _onward(value: str | None) -> str:
    """Where to go after signing in: a page of the patient's area, else their visits."""
    return local_page(value) or HOME


@router.get(SIGN_IN)
async def sign_in_page(
    page: FrameDep,
    token: Annotated[str, Query(max_length=200)] = "",
    next: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Shows the button only: mail scanners and link previews follow links with GET, so the
    token is not used until the patient presses it."""
    return _sign_in(page, token, _onward(next), Posted({}), 200)


def _sign_in(page: Frame, token: str, then: str, posted: Posted, status: int) -> HTMLResponse:
    response = page.render(
        "me/sign_in.html", {"token": token, "then": then, "posted": posted}, status=status
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.post(SIGN_IN)
async def sign_in(
    request: Request, page: FrameDep, keys: WebKeysDep, links: PatientLinksDep, clock: ClockDep
) -> Response:
    posted = await read_form(request, keys)
    token = posted.values.get("token", "")[:200]
    then = _onward(posted.values.get("next"))
    try:
        opened, _ = await links.redeem(token)
    except TokenInvalid as exc:
        posted.error("", str(exc))
        return _sign_in(page, "", then, posted, exc.status)
    response = RedirectResponse(then, status_code=303)
    set_session_cookie(request, response, opened, clock.now())
    return response


class LinkIn(BaseModel):
    email: Annotated[str, Field(max_length=254)]


@router.post(SIGN_IN_LINK)
async def ask_for_link(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    links: PatientLinksDep,
    background: BackgroundTasks,
) -> HTMLResponse:
    """As `POST /v1/auth/patient-link`: the same answer whether or not the address is known,
    and the email goes out after the answer."""
    posted = await read_form(request, keys)
    then = _onward(posted.values.get("next"))
    if not posted.values.get("email"):
        posted.error("email", "Give the email address you booked with")
    asked = validated(LinkIn, posted)
    if asked is None:
        return _ask(page, then, posted, 422)
    try:
        email = normalize_email(asked.email)
    except InvalidContact as exc:
        posted.error("email", str(exc)[:1].upper() + str(exc)[1:])
        return _ask(page, then, posted, 422)
    send = await links.request(email, then if then != HOME else None)
    if send is not None:
        background.add_task(send)
    return page.render("me/link_sent.html", {"email": email})


def _ask(page: Frame, then: str, posted: Posted, status: int) -> HTMLResponse:
    """The signed-out page: why, and the form asking for a link back to `then`."""
    return page.render("me/signed_out.html", {"then": then, "posted": posted}, status=status)


@router.post("/me/sign-out")
async def sign_out(request: Request, keys: WebKeysDep, sessions: SessionsDep) -> Response:
    await read_form(request, keys)
    return await end_session(request, sessions, "/")


def _signed_in(page: Frame) -> bool:
    return page.actor.kind == "patient" and page.actor.patient_id is not None


def _signed_out(page: Frame) -> HTMLResponse:
    return _ask(page, _onward(page.request.url.path), Posted({}), 200)


# -- the visits -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """A visit as the pages show it: the booking and its words."""

    view: BookingView
    service: str
    practitioner: str
    start: datetime

    @property
    def id(self) -> str:
        return self.view.id


def _shown(page: Frame, view: BookingView) -> Shown:
    service = page.catalog.services.get(view.service)
    who = page.catalog.practitioners.get(view.practitioner)
    return Shown(
        view,
        service.name if service else view.service,
        who.name if who else view.practitioner,
        view.start.astimezone(page.clinic_tz),
    )


@router.get(HOME)
async def visits(
    page: FrameDep,
    reader: BookingReaderDep,
    clock: ClockDep,
    patients: PatientReaderDep,
    waitlist: WaitlistDep,
) -> HTMLResponse:
    if not _signed_in(page):
        return _signed_out(page)
    now = clock.now()
    found = [_shown(page, v) for v in await reader.search(page.actor, None, None, None, 500)]
    found.sort(key=lambda s: s.view.start)
    return page.render(
        "me/visits.html",
        {
            "upcoming": [s for s in found if s.view.end >= now and s.view.status in ACTIVE],
            "past": [
                s
                for s in reversed(found)
                if s.view.end < now and s.view.status not in ("cancelled", "expired", "held")
            ],
            "cancelled": [s for s in reversed(found) if s.view.status == "cancelled"],
            "waitlist": await patient_entries(page, patients, waitlist),
        },
    )


@dataclass(frozen=True, slots=True)
class Terms:
    """What the patient may do with a visit now, and what cancelling it gives back."""

    changeable: bool  # it may still be moved or cancelled (not past, not cancelled)
    late: bool  # inside the policy's late window: "contact the clinic"
    refund: RefundPreview | None  # None: nothing paid for it (online or at the desk)
    phone: str | None  # the clinic's, from its billing identity
    late_hours: int  # the late window: this many hours before the start

    @property
    def online(self) -> bool:
        return self.changeable and not self.late


async def _terms(page: Frame, view: BookingView, refunds: RefundsDep, now: datetime) -> Terms:
    changeable = "cancel" in view.actions and "reschedule" in view.actions and view.start > now
    late = is_late(view.start, now, page.catalog.payments.cancellation)
    policy = page.catalog.payments
    try:
        refund = await refunds.preview(page.actor, view.id)
    except DomainError as exc:  # an order of another record (a merge): not shown here
        if exc.status != 404:
            raise
        refund = None
    return Terms(
        changeable,
        changeable and late,
        refund,
        policy.billing.phone if policy.billing else None,
        policy.cancellation.full_refund_hours,
    )


async def _opened(
    page: Frame, reader: BookingReaderDep, refunds: RefundsDep, booking_id: str, now: datetime
) -> tuple[BookingView, Terms]:
    """The patient's visit and what they may do with it now. Answers (`Answered`) with the
    signed-out page, or with the one 404 page for a visit not theirs or not there at all."""
    if not _signed_in(page):
        raise Answered(_signed_out(page))
    try:
        view = await reader.get(page.actor, booking_id[:64])
    except DomainError as exc:
        if exc.status == 404:
            raise Answered(_not_found(page)) from None
        raise
    return view, await _terms(page, view, refunds, now)


async def _changeable(
    page: Frame,
    reader: BookingReaderDep,
    refunds: RefundsDep,
    booking_id: str,
    now: datetime,
    *,
    status: int,
) -> tuple[BookingView, Terms]:
    """As `_opened`, for a visit the patient may still move or cancel online; else it answers
    with the visit's page (which says why, and how to reach the clinic) and `status`."""
    view, terms = await _opened(page, reader, refunds, booking_id, now)
    if not terms.online:
        raise Answered(_visit_page(page, _shown(page, view), terms, status=status))
    return view, terms


def _not_found(page: Frame, what: str = "visit") -> HTMLResponse:
    return page.render(
        "problem.html",
        {
            "title": f"We could not find that {what}",
            "detail": f"it is not one of yours, or the link is wrong; your {what}s are listed "
            "in your area",
            "back": HOME,
        },
        status=404,
    )


def _visit_page(
    page: Frame, visit: Shown, terms: Terms, *, done: str = "", problem: str = "", status: int = 200
) -> HTMLResponse:
    return page.render(
        "me/visit.html",
        {"visit": visit, "terms": terms, "done": done, "problem": problem},
        status=status,
    )


@router.get("/me/visits/{booking_id}")
async def visit(
    page: FrameDep,
    reader: BookingReaderDep,
    refunds: RefundsDep,
    clock: ClockDep,
    booking_id: str,
    done: Annotated[str, Query(pattern="^(moved|cancelled)?$")] = "",
) -> HTMLResponse:
    view, terms = await _opened(page, reader, refunds, booking_id, clock.now())
    return _visit_page(page, _shown(page, view), terms, done=done)


@router.get("/me/visits/{booking_id}/cancel")
async def cancel_page(
    page: FrameDep, reader: BookingReaderDep, refunds: RefundsDep, clock: ClockDep, booking_id: str
) -> HTMLResponse:
    view, terms = await _changeable(page, reader, refunds, booking_id, clock.now(), status=200)
    return page.render("me/cancel.html", {"visit": _shown(page, view), "terms": terms})


@router.post("/me/visits/{booking_id}/cancel")
async def cancel(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    reader: BookingReaderDep,
    bookings: BookingServiceDep,
    refunds: RefundsDep,
    clock: ClockDep,
    booking_id: str,
) -> Response:
    await read_form(request, keys)
    # Where the button was not shown (too late to cancel online), refused all the same.
    view, terms = await _changeable(page, reader, refunds, booking_id, clock.now(), status=409)
    try:
        await bookings.act(page.actor, view.id, Action.CANCEL, CANCEL_REASON)
    except DomainError as exc:
        if exc.status == 404:
            return _not_found(page)
        return _visit_page(page, _shown(page, view), terms, problem=str(exc), status=exc.status)
    return RedirectResponse(f"/me/visits/{view.id}?done=cancelled", status_code=303)


# -- rescheduling -----------------------------------------------------------------------------


async def _week_page(
    page: Frame,
    finder: AvailabilityDep,
    view: BookingView,
    week: date | None,
    now: datetime,
    *,
    problem: str = "",
    status: int = 200,
) -> HTMLResponse:
    try:
        same = chosen(page.catalog, view.service, view.visit_type, view.duration, view.practitioner)
    except BadChoice as exc:
        return _problem(page, "This visit cannot be moved online", str(exc), 409)
    days = Week.of(page, week, now)
    here = f"/me/visits/{view.id}/reschedule"
    context = days.shown(
        await open_times(finder, same, days, now),
        action=here,
        fields=[],
        href=lambda day: f"{here}?week={day.isoformat()}",
    )
    context |= {"visit": same, "shown": _shown(page, view), "problem": problem}
    return page.render("me/reschedule.html", context, status=status, block="week")


@router.get("/me/visits/{booking_id}/reschedule")
async def reschedule_page(
    page: FrameDep,
    reader: BookingReaderDep,
    finder: AvailabilityDep,
    refunds: RefundsDep,
    clock: ClockDep,
    booking_id: str,
    week: date | None = None,
) -> HTMLResponse:
    now = clock.now()
    view, _ = await _changeable(page, reader, refunds, booking_id, now, status=200)
    return await _week_page(page, finder, view, week, now)


@router.post("/me/visits/{booking_id}/reschedule")
async def reschedule(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    reader: BookingReaderDep,
    bookings: BookingServiceDep,
    finder: AvailabilityDep,
    refunds: RefundsDep,
    clock: ClockDep,
    booking_id: str,
) -> Response:
    posted = await read_form(request, keys)
    now = clock.now()
    view, _ = await _changeable(page, reader, refunds, booking_id, now, status=409)
    try:
        start = posted_start(posted)
    except ValueError:
        return await _week_page(
            page, finder, view, None, now, problem="Pick one of the open times", status=400
        )
    try:
        await bookings.reschedule(page.actor, view.id, start, None, None)
    except DomainError as exc:
        if exc.status == 404:
            return _not_found(page)
        week = start.astimezone(page.clinic_tz).date()
        return await _week_page(page, finder, view, week, now, problem=str(exc), status=409)
    return RedirectResponse(f"/me/visits/{view.id}?done=moved", status_code=303)


def _problem(page: Frame, title: str, detail: str, status: int) -> HTMLResponse:
    context = {"title": title, "detail": detail, "back": HOME}
    return page.render("problem.html", context, status=status)
