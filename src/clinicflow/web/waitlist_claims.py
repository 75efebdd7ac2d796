"""The waitlist's emailed links that book a visit: a launch invitation
(`/waitlist/invitations?token=…`, which books a first visit from a week of open times) and a
freed-slot offer (`/waitlist/offers?token=…`, which claims it); `waitlist_pages.py` has
joining and the status page. As there, holding the link's token is the permission, and every
wrong, lapsed or malformed token gets the same 404 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinicflow.infra.web import ClockDep
from clinicflow.shared.errors import DomainError
from clinicflow.waitlist.conversions.views import Claimed
from clinicflow.waitlist.domain.links import OPEN_STATUSES, why_closed
from clinicflow.waitlist.domain.slots import ClaimAsk
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.errors import LinkNotFound
from clinicflow.waitlist.launches.service import SHOWN_DAYS
from clinicflow.web import passes
from clinicflow.web.forms import Posted
from clinicflow.web.open_times import Week, posted_start
from clinicflow.web.pages import Frame, FrameDep
from clinicflow.web.paying import BOOKED_PASS, BOOKED_PASS_DAYS
from clinicflow.web.security import WebKeys, WebKeysDep
from clinicflow.web.waitlist_pages import _link_form, _no_link

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


# -- a launch invitation ----------------------------------------------------------------------


@router.get("/waitlist/invitations")
async def invitation(
    page: FrameDep,
    waitlist: WaitlistDep,
    clock: ClockDep,
    token: str = "",
    week: date | None = None,
) -> HTMLResponse:
    return await _invitation_page(page, waitlist, clock.now(), token, week, Posted({}), 200)


async def _invitation_page(
    page: Frame,
    waitlist: WaitlistDep,
    now: datetime,
    token: str,
    week: date | None,
    posted: Posted,
    status: int,
) -> HTMLResponse:
    days = Week.of(page, week, now, SHOWN_DAYS)
    try:
        view = await waitlist.invitations.view(token[:200], *days.span(now))
    except LinkNotFound:
        return _no_link(page)
    here = f"/waitlist/invitations?{urlencode({'token': token})}"
    durations = view.durations.get("initial", [])
    context = days.shown(
        (slot.start for slot in view.slots),
        action="/waitlist/invitations/claim",
        fields=[("token", token)],
        href=lambda day: f"{here}&week={day.isoformat()}",
    )
    context |= {"minutes": min(durations) if durations else None}
    return _link_page(page, "waitlist/invitation.html", view, token, posted, status, context)


@router.post("/waitlist/invitations/claim")
async def claim_invitation(
    request: Request, page: FrameDep, keys: WebKeysDep, waitlist: WaitlistDep, clock: ClockDep
) -> Response:
    posted, token = await _link_form(request, keys)
    try:
        start = posted_start(posted)
    except ValueError:
        posted.error("", "Pick one of the open times below.")
        return await _invitation_page(page, waitlist, clock.now(), token, None, posted, 422)
    week = start.astimezone(page.clinic_tz).date()
    return await _claimed(
        page,
        keys,
        posted,
        waitlist.invitations.claim(page.actor, token, ClaimAsk(start)),
        lambda status: _invitation_page(page, waitlist, clock.now(), token, week, posted, status),
        clock.now,
    )


# -- a freed-slot offer -----------------------------------------------------------------------


@router.get("/waitlist/offers")
async def offer(page: FrameDep, waitlist: WaitlistDep, token: str = "") -> HTMLResponse:
    return await _offer_page(page, waitlist, token, Posted({}), 200)


async def _offer_page(
    page: Frame, waitlist: WaitlistDep, token: str, posted: Posted, status: int
) -> HTMLResponse:
    try:
        view = await waitlist.offers.view(token[:200])
    except LinkNotFound:
        return _no_link(page)
    who = page.catalog.practitioners.get(view.practitioner)
    context = {
        "start": view.start.astimezone(page.clinic_tz),
        "practitioner": who.name if who else None,
    }
    return _link_page(page, "waitlist/offer.html", view, token, posted, status, context)


@router.post("/waitlist/offers/claim")
async def claim_offer(
    request: Request, page: FrameDep, keys: WebKeysDep, waitlist: WaitlistDep, clock: ClockDep
) -> Response:
    posted, token = await _link_form(request, keys)
    return await _claimed(
        page,
        keys,
        posted,
        waitlist.offers.claim(page.actor, token),
        lambda status: _offer_page(page, waitlist, token, posted, status),
        clock.now,
    )


# -- shared -----------------------------------------------------------------------------------


class LinkView(Protocol):
    """What an emailed link's page shows of any link: its state and until when it holds."""

    @property
    def status(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...


def _link_page(
    page: Frame,
    template: str,
    view: LinkView,
    token: str,
    posted: Posted,
    status: int,
    context: Mapping[str, object],
) -> HTMLResponse:
    """An invitation's or an offer's page: what it offers (`context`), until when, and why
    it can no longer book once closed; its form carries the link's `token`."""
    shown = {
        "view": view,
        "token": token,
        "posted": posted,
        "expires": view.expires_at.astimezone(page.clinic_tz),
        "closed_why": _closed_words(view.status),
        **context,
    }
    return page.render(template, shown, status=status)


NEXT_STEP = {  # after why a link can no longer book: what its holder can do now
    "claiming": "look again in a minute",
    "claimed": "the confirmation is in your email",
    "expired": "you keep your place on the waitlist",
}


def _closed_words(status: str) -> str | None:
    """Why a link can no longer book (the waitlist's words) and what now, or None while it
    is open."""
    if status in OPEN_STATUSES:
        return None
    then = NEXT_STEP.get(status)
    return why_closed(status) + (f"; {then}" if then else "")


async def _claimed(
    page: Frame,
    keys: WebKeys,
    posted: Posted,
    claim: Awaitable[Claimed],
    again: Callable[[int], Awaitable[HTMLResponse]],
    now: Callable[[], datetime],
) -> Response:
    """What pressing an invitation's or an offer's button answers: the booking's
    confirmation, the one 404 page for a link that opens nothing, or the link's page `again`
    (with the answer's status) saying why it did not book."""
    try:
        done = await claim
    except LinkNotFound:
        return _no_link(page)
    except DomainError as exc:
        posted.error("", str(exc))
        return await again(exc.status)
    return _booked(page, keys, done, now())


def _booked(page: Frame, keys: WebKeys, done: Claimed, now: datetime) -> Response:
    """The booking site's confirmation page (with "add to calendar"), as after any booking."""
    b = done.booking
    facts: passes.JsonFacts = {
        "id": b.id,
        "service": b.service,
        "visit_type": b.visit_type,
        "duration": b.duration,
        "practitioner": b.practitioner,
        "start": b.start.isoformat(),
    }
    token = passes.issue(keys, BOOKED_PASS, facts, now + timedelta(days=BOOKED_PASS_DAYS))
    return RedirectResponse(f"/book/done/{token}", status_code=303)
