"""The patient's own visit (`/me/visits/{id}`), with reschedule and cancel within the
clinic's policy; `patient_area.py` has the sign-in and the list of visits.

Inside the policy's late window (less than `full_refund_hours` before the start, where a fee
is kept) the page offers "contact the clinic" instead of changing the visit online, and the
server refuses a change posted anyway. The refund shown before cancelling is
`RefundService.preview`, the rule the refund made after the cancellation uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinicflow.booking.api import AvailabilityDep, BookingReaderDep, BookingServiceDep
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.views import BookingView
from clinicflow.infra.web import ClockDep
from clinicflow.payments.domain.refunds import is_late
from clinicflow.payments.refunds.api import RefundsDep
from clinicflow.payments.refunds.views import RefundPreview
from clinicflow.shared.errors import DomainError
from clinicflow.web.forms import read_form
from clinicflow.web.open_times import BadChoice, Week, chosen, open_times, posted_start
from clinicflow.web.pages import Answered, Frame, FrameDep, page_router
from clinicflow.web.patient_area import (
    Shown,
    _not_found,
    _problem,
    _shown,
    _signed_in,
    _signed_out,
)
from clinicflow.web.security import WebKeysDep

router = page_router()

CANCEL_REASON = "cancelled by the patient online"


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
