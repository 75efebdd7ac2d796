"""The staff console (`/staff`): the sign-in (password, and the authenticator code where the
account has one) and what every page of the console shares. Its areas, each with its own
router: the day and week calendar with check-in / complete / no-show / cancel and a visit's
page (`staff_calendar.py`), booking on a patient's behalf (`staff_booking.py`), the patient
search and record, a visit's payment and its refunds (`staff_records.py`), the waitlist
ranked per service with the launch, and the feature flags (`staff_admin.py`).

Every page calls the use cases the API's routes call, with the signed-in staff member as the
actor, so every rule and audit row is the API's: what a role may not do the use case refuses
here too. `Can` only decides which links and buttons to show, from the same access tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, field_validator

from clinicflow.booking.domain import access as booking_access
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.views import BookingView
from clinicflow.identity.api import SessionsDep, UsersDep, set_session_cookie
from clinicflow.identity.users.errors import SecondFactorRequired
from clinicflow.infra.web import ClockDep
from clinicflow.patients.domain import access as patient_access
from clinicflow.patients.views import PatientView
from clinicflow.payments.domain import access as payment_access
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from clinicflow.waitlist.domain import access as waitlist_access
from clinicflow.web.forms import Posted, read_form, validated
from clinicflow.web.pages import Answered, Frame, FrameDep, page_router
from clinicflow.web.security import WebKeys, WebKeysDep, end_session

router = page_router()

HOME = "/staff"
SIGN_IN = "/staff/sign-in"  # the gateway rate-limits it as a sign-in (gateway/auth.py)
STAFF_HOLD_PASS = "staff_hold"  # noqa: S105 (a kind of pass, not a secret)
ACTIONS: dict[str, Action] = {
    a.value: a for a in (Action.CHECK_IN, Action.COMPLETE, Action.NO_SHOW, Action.CANCEL)
}
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


# -- shared -----------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _full_name(patient: PatientView) -> str:
    return " ".join(p for p in (patient.first_name, patient.last_name) if p) or "(no name)"
