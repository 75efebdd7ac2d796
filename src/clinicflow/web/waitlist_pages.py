"""The waitlist's public pages: joining a coming service's waitlist from the home page
(`POST /waitlist/join`), the private status page (`/waitlist/mine?token=…`, with preferences
and leaving), and the pages the waitlist's emails link to: a launch invitation
(`/waitlist/invitations?token=…`, which books a first visit), a freed-slot offer
(`/waitlist/offers?token=…`, which claims it) and a nurture message's tracking link
(`/waitlist/t/{token}`, which counts the click and shows where the person stands); and,
for the patient's area, the signed-in patient's own entries (`patient_entries`).

Each calls the same use case as the API's `/v1/waitlist/...` route. Holding the link's token
is the permission, as in the API; every wrong, lapsed or malformed token gets the same 404
page, which says nothing about whether such an entry or link exists. Tokens travel in the
query string or a form field, never in a logged path (except the tracking link's, as the
API's). A join answers the same page whether or not the person was listed before, exactly
as much as `POST /v1/waitlist` reveals.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinicflow.catalog.api import LaunchesDep
from clinicflow.infra.web import ClockDep
from clinicflow.patients.api import PatientReaderDep
from clinicflow.shared.errors import DomainError, InvalidRequest
from clinicflow.waitlist.conversions.views import Claimed
from clinicflow.waitlist.domain.links import OPEN_STATUSES, why_closed
from clinicflow.waitlist.domain.slots import ClaimAsk
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.entries.schemas import JoinIn, PreferencesIn
from clinicflow.waitlist.entries.views import PublicView
from clinicflow.waitlist.errors import EntryNotFound, LinkNotFound
from clinicflow.waitlist.launches.service import SHOWN_DAYS
from clinicflow.web import passes
from clinicflow.web.booking_site import Week, home_context, posted_start
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Frame, FrameDep
from clinicflow.web.paying import BOOKED_PASS, BOOKED_PASS_DAYS
from clinicflow.web.security import WebKeys, WebKeysDep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

JOIN_FIELDS = ("first_name", "last_name", "email", "zip", "interest_level")
PREFERENCE_FIELDS = ("interest_level", "preferred_practitioner")
KEEP = "keep"  # a preference left as it is (the status page cannot show the current one)
COMPONENT_NAMES = {
    "interest": "How keen you said you are",
    "wait_time": "Time on the list",
    "engagement": "Opening our messages",
    "location": "How near you live",
}
STATUS_WORDS = {
    "waiting": "on the waitlist",
    "invited": "invited to book",
    "offered": "offered a freed visit",
    "booked": "booked",
    "converted": "booked and paid",
    "withdrawn": "off the waitlist (left)",
    "expired": "off the waitlist",
}


# -- joining ----------------------------------------------------------------------------------


@router.post("/waitlist/join")
async def join(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    waitlist: WaitlistDep,
    launches: LaunchesDep,
    background: BackgroundTasks,
) -> HTMLResponse:
    posted = await read_form(request, keys)
    body = validated(JoinIn, posted)
    if body is not None:
        try:
            result = await waitlist.entries.join(page.actor, body.request())
        except InvalidRequest as exc:
            _field_errors(posted, exc)
        else:
            if result.then is not None:
                background.add_task(result.then)
            link = waitlist.status_url(result.token) if result.token else None
            return page.render(
                "waitlist/joined.html",
                {**_standing(page, result.view), "status_link": link,
                 "already": result.already_joined},
            )  # fmt: skip
    await launches.refresh()
    joining = posted.values.get("service", "")
    coming = {k for k, s in page.catalog.services.items() if not s.active and s.waitlist}
    if joining not in coming:  # not a form of ours: the message goes at the top of the page
        posted.error("", posted.errors.pop("service", "Pick a coming service from the list."))
        joining = ""
    context = home_context(page) | {"joining": joining, "posted": posted}
    return page.render("home.html", context, status=422)


def _field_errors(posted: Posted, exc: DomainError, fields: tuple[str, ...] = JOIN_FIELDS) -> None:
    """The use case's `errors` (field, message) beside their fields; the rest at the top."""
    found = exc.extra.get("errors")
    if not isinstance(found, list) or not found:
        posted.error("", str(exc))
        return
    for item in found:
        if not isinstance(item, dict):
            continue
        where = str(item.get("field", ""))
        message = str(item.get("message", ""))
        posted.error(where if where in fields else "", message[:1].upper() + message[1:])


def _standing(page: Frame, view: PublicView) -> dict[str, object]:
    service = page.catalog.services.get(view.service)
    return {
        "view": view,
        "service_name": service.name if service else view.service,
        "status_words": STATUS_WORDS.get(view.status, view.status),
        "component_names": COMPONENT_NAMES,
        "joined": view.joined_at.astimezone(page.clinic_tz),
    }


async def patient_entries(
    page: Frame, reader: PatientReaderDep, waitlist: WaitlistDep
) -> list[dict[str, object]]:
    """The signed-in patient's entries, for their area (`/me`), each shown as its status
    page shows it: only those linked to them (joined while signed in, or converted).

    Not those merely joined with the email on their record: a patient may change that email
    (here or over the API) to any address no other patient holds, with nothing proving they
    own it, and would then see where a stranger stands. Entries joined signed out are
    reached by their private link until joining links them (docs/waitlist.md)."""
    del reader  # the record's contact details are deliberately not used (see above)
    found = await waitlist.entries.of_patient(page.actor, None, None)
    return [_standing(page, e.view) | {"entry": e} for e in found]


# -- the private status page ------------------------------------------------------------------


@router.get("/waitlist/mine")
async def mine(page: FrameDep, waitlist: WaitlistDep, token: str = "") -> HTMLResponse:
    try:
        view = await waitlist.entries.by_token(token[:200])
    except EntryNotFound:
        return _no_link(page)
    return _entry_page(page, view, token, Posted({}), 200)


def _entry_page(
    page: Frame,
    view: PublicView,
    token: str,
    posted: Posted,
    status: int,
    changed: str | None = None,
) -> HTMLResponse:
    service = page.catalog.services.get(view.service)
    practitioners = [page.catalog.practitioners[k] for k in (service.calendars if service else ())]
    context = _standing(page, view) | {
        "token": token,
        "posted": posted,
        "practitioners": practitioners,
        "changeable": view.status in ("waiting", "invited", "offered"),
        "changed": changed,
    }
    return page.render("waitlist/entry.html", context, status=status)


@router.post("/waitlist/mine/preferences")
async def preferences(
    request: Request, page: FrameDep, keys: WebKeysDep, waitlist: WaitlistDep
) -> HTMLResponse:
    posted, token = await _link_form(request, keys)
    given: dict[str, object] = {}
    if posted.values.get("interest_level"):
        given["interest_level"] = posted.values["interest_level"]
    who = posted.values.get("preferred_practitioner", KEEP)
    if who != KEEP:  # "" is "no preference": the API's null, which clears it
        given["preferred_practitioner"] = who or None
    prefs = validated(PreferencesIn, Posted({}, posted.errors), given)
    try:
        if prefs is None:
            view = await waitlist.entries.by_token(token)
            return _entry_page(page, view, token, posted, 422)
        view = await waitlist.entries.update_by_token(page.actor, token, prefs.preferences())
    except EntryNotFound:
        return _no_link(page)
    except DomainError as exc:
        _field_errors(posted, exc, PREFERENCE_FIELDS)
        return _entry_page(page, await waitlist.entries.by_token(token), token, posted, exc.status)
    return _entry_page(page, view, token, Posted({}), 200, "Your preferences are saved.")


@router.post("/waitlist/mine/leave")
async def leave(
    request: Request, page: FrameDep, keys: WebKeysDep, waitlist: WaitlistDep
) -> HTMLResponse:
    posted, token = await _link_form(request, keys)
    try:
        view = await waitlist.entries.withdraw_by_token(page.actor, token)
    except EntryNotFound:
        return _no_link(page)
    except DomainError as exc:
        posted.error("", str(exc))
        return _entry_page(page, await waitlist.entries.by_token(token), token, posted, exc.status)
    return _entry_page(page, view, token, Posted({}), 200, "You have left the waitlist.")


# -- a nurture message's tracking link --------------------------------------------------------


@router.get("/waitlist/t/{token}")
async def tracked(page: FrameDep, waitlist: WaitlistDep, token: str) -> HTMLResponse:
    try:
        await waitlist.nurture.click(token)  # the click counts, as the API's route counts it
        view = await waitlist.entries.by_message(token)
    except LinkNotFound:
        return _no_link(page)
    return page.render("waitlist/tracked.html", _standing(page, view))


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
    try:
        done = await waitlist.invitations.claim(page.actor, token, ClaimAsk(start))
    except LinkNotFound:
        return _no_link(page)
    except DomainError as exc:
        posted.error("", str(exc))
        week = start.astimezone(page.clinic_tz).date()
        return await _invitation_page(page, waitlist, clock.now(), token, week, posted, exc.status)
    return _booked(page, keys, done, clock.now())


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
    try:
        done = await waitlist.offers.claim(page.actor, token)
    except LinkNotFound:
        return _no_link(page)
    except DomainError as exc:
        posted.error("", str(exc))
        return await _offer_page(page, waitlist, token, posted, exc.status)
    return _booked(page, keys, done, clock.now())


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


async def _link_form(request: Request, keys: WebKeys) -> tuple[Posted, str]:
    """A posted form (its CSRF token checked first) and the link's token it carries."""
    posted = await read_form(request, keys)
    return posted, posted.values.get("token", "")


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


def _no_link(page: Frame) -> HTMLResponse:
    """One answer for a mistyped, unknown, malformed or withdrawn link: it reveals nothing."""
    return page.render(
        "problem.html",
        {
            "title": "This link does not open anything",
            "detail": "copy the whole link from the message the clinic sent you; if it is "
            "old, the newest message has the link that works now",
        },
        status=404,
    )
