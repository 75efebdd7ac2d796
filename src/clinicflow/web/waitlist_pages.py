"""The waitlist's public pages: joining a coming service's waitlist from the home page
(`POST /waitlist/join`), the private status page (`/waitlist/mine?token=…`, with preferences
and leaving), a nurture message's tracking link (`/waitlist/t/{token}`, which counts the
click and shows where the person stands); and, for the patient's area, the signed-in
patient's own entries (`patient_entries`). The emailed links that book (a launch invitation,
a freed-slot offer) are `waitlist_claims.py`'s.

Each calls the same use case as the API's `/v1/waitlist/...` route. Holding the link's token
is the permission, as in the API; every wrong, lapsed or malformed token gets the same 404
page, which says nothing about whether such an entry or link exists. Tokens travel in the
query string or a form field, never in a logged path (except the tracking link's, as the
API's). A join answers the same page whether or not the person was listed before, exactly
as much as `POST /v1/waitlist` reveals.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse

from clinicflow.catalog.api import LaunchesDep
from clinicflow.patients.api import PatientReaderDep
from clinicflow.shared.errors import DomainError, InvalidRequest
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.entries.schemas import JoinIn, PreferencesIn
from clinicflow.waitlist.entries.views import PublicView
from clinicflow.waitlist.errors import EntryNotFound, LinkNotFound
from clinicflow.web.booking_site import home_context
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Frame, FrameDep
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


# -- shared -----------------------------------------------------------------------------------


async def _link_form(request: Request, keys: WebKeys) -> tuple[Posted, str]:
    """A posted form (its CSRF token checked first) and the link's token it carries."""
    posted = await read_form(request, keys)
    return posted, posted.values.get("token", "")


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
