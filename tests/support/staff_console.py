"""Shared parts of the staff console's tests: staff accounts (an admin's authenticator code
from the secret it was enrolled with) and signing them in on the console's page, launching a
service there, visits booked as the booking site books them, and what the database holds of
them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import httpx
from playwright.async_api import Page
from sqlalchemy import select

from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.identity.users.domain.totp import code_at
from clinicflow.infra.audit_tables import audit_log, audit_pending
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.web.security import CSRF_FIELD
from support.app import PASSWORD
from support.browser import assert_accessible
from support.pages import TOKEN

# The clock stands at Tuesday 2026-11-24 09:00 in the clinic (tests/conftest.py NOW); check-in
# opens 12 hours before a visit, so this afternoon's visits may be checked in already.
TODAY_2PM = datetime.fromisoformat("2026-11-24T14:00:00-06:00")
TODAY_3PM = datetime.fromisoformat("2026-11-24T15:00:00-06:00")


@dataclass(frozen=True, slots=True)
class Staff:
    username: str
    role: str
    totp_secret: str | None = None

    def code(self, container: Container) -> str | None:
        if self.totp_secret is None:
            return None
        return code_at(self.totp_secret, container.clock.now())


async def staff(
    container: Container, username: str, role: str, practitioner: str | None = None
) -> Staff:
    """A staff account (password: support.app.PASSWORD); admins are enrolled in TOTP."""
    made = await container.identity.users.create(
        username, role, PASSWORD, practitioner=practitioner
    )
    secret = None
    if made.totp_uri is not None:
        secret = parse_qs(urlparse(made.totp_uri).query)["secret"][0]
    return Staff(username, role, secret)


async def sign_in(page: Page, site: str, container: Container, who: Staff) -> None:
    """Signs `who` in on the console's sign-in page (with the authenticator code when
    enrolled); waits for the page it leads to."""
    await page.goto(site + "/staff")
    await page.fill("#f-username", who.username)
    await page.fill("#f-password", PASSWORD)
    code = who.code(container)
    if code:
        await page.fill("#f-totp_code", code)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/staff/(calendar|waitlist)"))


async def launch(page: Page, service: str, invitations: str) -> None:
    """Presses `service`'s launch button on the console's waitlist page: the notice says it
    is launched and how many `invitations` went out ("2 invitations"), the button is gone,
    and axe finds nothing serious."""
    await page.get_by_role("button", name=f"Launch {service}").click()
    notice = page.get_by_role("status")
    await notice.wait_for()
    said = f"{service} is launched and bookable. {invitations} sent."
    assert said in await notice.inner_text()
    assert await page.get_by_role("button", name=f"Launch {service}").count() == 0
    await assert_accessible(page)


async def booked(
    container: Container,
    first: str,
    last: str,
    start: datetime,
    practitioner: str = "doctor1",
    *,
    email: str | None = None,
) -> tuple[str, str]:
    """A 20-minute alternative-medicine visit booked as the booking site books one: the
    booking's id and its patient's."""
    slot = SlotRequest("alternative_medicine", "initial", 20, start, practitioner)
    who = PatientDetails(first, last, email or f"{first.lower()}@example.com", None)
    made, _ = await container.bookings.book(ANONYMOUS, BookRequest(slot, who), None)
    assert made.patient_id is not None
    return made.id, made.patient_id


async def status_of(container: Container, booking_id: str) -> str:
    async with container.db.read() as conn:
        query = select(appointments.c.status).where(appointments.c.id == booking_id)
        return str((await conn.execute(query)).scalar_one())


async def audit_rows(container: Container, action: str) -> list[tuple[str, str, str, str]]:
    """(role, resource id, patient id, outcome) of each audit row for `action`: sealed into
    the chain, or committed and waiting to be."""
    found = []
    async with container.db.read() as conn:
        for table in (audit_log, audit_pending):
            c = table.c
            query = select(c.role, c.resource_id, c.patient_id, c.outcome).where(c.action == action)
            found += [
                (r.role, r.resource_id, r.patient_id, r.outcome) for r in await conn.execute(query)
            ]
    return found


# -- over HTTP, without a browser (tests/integration/staff_console/, test_web_staff_calendars.py)


async def token(http: httpx.AsyncClient, path: str = "/staff") -> str:
    """The CSRF token of the console's form at `path`."""
    page = await http.get(path, follow_redirects=True)
    found = TOKEN.search(page.text)
    assert found is not None, (path, page.status_code, page.text[:500])
    return found.group(1)


async def post(
    http: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
) -> httpx.Response:
    form = dict(data or {})
    if csrf:
        form[CSRF_FIELD] = await token(http)
    return await http.post(path, data=form)


async def sign_in_over_http(http: httpx.AsyncClient, container: Container, who: Staff) -> None:
    form = {"username": who.username, "password": PASSWORD, "totp_code": who.code(container) or ""}
    answer = await post(http, "/staff/sign-in", form)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/staff"
