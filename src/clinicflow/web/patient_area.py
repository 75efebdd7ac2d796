"""The patient's own area: the page the emailed sign-in link opens (`/sign-in`) and the visits
and waitlist places (`/me`). Its other areas, each with its own router: one visit with
reschedule and cancel (`patient_visits.py`), receipts and the patient's contact details and
consents (`patient_records.py`).

Signed out, every `/me…` page answers 200 with a page that says why and offers to email a
sign-in link that leads back to it. A visit or receipt that is not the patient's answers the
same 404 page as one that does not exist (the use cases decide; they audit the refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from clinicflow.booking.api import BookingReaderDep
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
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Frame, FrameDep, page_router
from clinicflow.web.security import WebKeysDep, end_session
from clinicflow.web.waitlist_pages import patient_entries

router = page_router()

HOME = "/me"
CHANNELS = (("email", "Email"), ("sms", "Text messages (SMS)"), ("push", "Notifications"))
DETAIL_FIELDS = ("first_name", "last_name", "email", "phone", "pronouns")
ACTIVE = ("confirmed", "checked_in")
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


def _problem(page: Frame, title: str, detail: str, status: int) -> HTMLResponse:
    context = {"title": title, "detail": detail, "back": HOME}
    return page.render("problem.html", context, status=status)
