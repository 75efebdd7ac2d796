"""The staff console over HTTP: the sign-in says what went wrong in plain words; each button's
POST is refused for a role that may not use it (and without its form's token) and changes
nothing; foreign and made-up ids answer the same 404 page; the patient record leaves the
audit row the API leaves; the front desk books for a patient; billing refunds a payment."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app
from clinicflow.shared.actor import Actor, Role
from clinicflow.web.security import CSP, CSRF_FIELD
from support.app import PASSWORD
from support.fake_stripe import FakeStripe
from support.pages import INLINE
from support.payments import PaidVisit
from support.staff_console import (
    TODAY_2PM,
    TODAY_3PM,
    Staff,
    audit_rows,
    booked,
    post,
    staff,
    status_of,
)
from support.staff_console import sign_in_over_http as sign_in

NOT_FOUND = "there is nothing here, or nothing you may open"
ADMIN = Actor(kind="user", id="test-admin", role=Role.ADMIN)
Browser = Callable[[Staff], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container=container)


@pytest.fixture
def browser(app: FastAPI, container: Container) -> Browser:
    """A new browser (its own cookies) on the app with `who` signed in, as often as a test
    needs one."""

    @asynccontextmanager
    async def opened(who: Staff) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            await sign_in(http, container, who)
            yield http

    return opened


async def test_the_sign_in_says_what_is_wrong_beside_the_form_and_then_opens_the_console(
    client: httpx.AsyncClient, container: Container
) -> None:
    admin = await staff(container, "ada", "admin")
    signed_out = await client.get("/staff")
    assert signed_out.status_code == 200
    assert "Staff sign-in" in signed_out.text

    empty = await post(client, "/staff/sign-in", {"username": "ada"})
    assert empty.status_code == 422
    assert 'id="f-password-error">Give your password<' in empty.text

    wrong = await post(client, "/staff/sign-in", {"username": "ada", "password": "nope"})
    assert wrong.status_code == 401
    assert "The username or password is wrong" in wrong.text
    assert "nope" not in wrong.text  # the password is never echoed

    no_code = await post(client, "/staff/sign-in", {"username": "ada", "password": PASSWORD})
    assert no_code.status_code == 401
    assert re.search(r'aria-describedby="f-totp_code-error[^"]*"', no_code.text)
    assert "Give the 6-digit code from your authenticator app" in no_code.text

    await sign_in(client, container, admin)
    home = await client.get("/staff")
    assert (home.status_code, home.headers["location"]) == (303, "/staff/calendar")
    calendar = await client.get("/staff/calendar")
    assert calendar.status_code == 200
    assert "Tuesday 24 November 2026: the whole clinic" in calendar.text

    out = await post(client, "/staff/sign-out")
    assert out.status_code == 303
    again = await client.get("/staff/calendar")
    assert (again.status_code, again.headers["location"]) == (303, "/staff")


@pytest.fixture
async def visits(container: Container) -> dict[str, tuple[str, str]]:
    """This afternoon: Ana with doctor1 at 2 PM, Ben with the nurse at 3 PM."""
    return {
        "ana": await booked(container, "Ana", "Quill", TODAY_2PM, "doctor1"),
        "ben": await booked(container, "Ben", "Ortiz", TODAY_3PM, "nurse"),
    }


@pytest.mark.parametrize(
    ("role", "practitioner", "action", "status", "said"),
    [
        ("billing", None, "check-in", 403, "your role may not attend bookings"),
        ("billing", None, "cancel", 403, "your role may not change bookings"),
        ("analyst", None, "complete", 403, "your role may not attend bookings"),
        ("analyst", None, "no-show", 403, "your role may not attend bookings"),
        ("practitioner", "nurse", "check-in", 404, NOT_FOUND),  # Ana is doctor1's
        ("practitioner", "nurse", "cancel", 404, NOT_FOUND),
    ],
)
async def test_each_visit_button_is_refused_to_a_role_that_may_not_press_it(
    browser: Browser,
    container: Container,
    visits: dict[str, tuple[str, str]],
    role: str,
    practitioner: str | None,
    action: str,
    status: int,
    said: str,
) -> None:
    ana, _ = visits["ana"]
    who = await staff(container, f"{role}1", role, practitioner)
    async with browser(who) as http:
        answer = await post(http, f"/staff/bookings/{ana}/{action}")
        assert answer.status_code == status
        assert said in answer.text.lower()
        if role != "analyst":  # an analyst has no calendar to look at
            calendar = await http.get("/staff/calendar", params={"practitioner": "doctor1"})
            assert f"/staff/bookings/{ana}/" not in calendar.text  # no button shown either
    assert await status_of(container, ana) == "confirmed"


async def test_the_front_desk_and_the_visits_own_practitioner_may_press_them(
    browser: Browser, container: Container, visits: dict[str, tuple[str, str]]
) -> None:
    ana, _ = visits["ana"]
    ben, _ = visits["ben"]
    desk = await staff(container, "desk", "front_desk")
    nurse = await staff(container, "grace", "practitioner", "nurse")
    async with browser(desk) as http:
        calendar = await http.get("/staff/calendar")
        assert f'action="/staff/bookings/{ana}/check-in"' in calendar.text
        answer = await post(http, f"/staff/bookings/{ana}/check-in", {"view": "day"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/staff/calendar?view=day&date=2026-11-24")
    async with browser(nurse) as http:
        calendar = await http.get("/staff/calendar")
        assert f'action="/staff/bookings/{ben}/check-in"' in calendar.text
        assert ana not in calendar.text  # another practitioner's visit is not on it
        early = await post(http, f"/staff/bookings/{ben}/no-show")
        assert early.status_code == 409  # before the visit's start: said on the calendar
        assert 'role="alert"' in early.text
        assert f'action="/staff/bookings/{ben}/check-in"' in early.text
        assert (await post(http, f"/staff/bookings/{ben}/check-in")).status_code == 303
    assert await status_of(container, ana) == "checked_in"
    assert await status_of(container, ben) == "checked_in"


@pytest.mark.parametrize("tamper", ["missing", "wrong"])
async def test_a_button_without_its_forms_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, visits: dict[str, tuple[str, str]], tamper: str
) -> None:
    ana, _ = visits["ana"]
    await sign_in(client, container, await staff(container, "desk", "front_desk"))
    form = {} if tamper == "missing" else {CSRF_FIELD: "0" * 64}
    paths = [
        f"/staff/bookings/{ana}/check-in",
        f"/staff/bookings/{ana}/cancel",
        "/staff/book/hold",
        "/staff/waitlist/counseling/launch",
        "/staff/flags/waitlist_auto_offers",
        "/staff/payments/some-order/refund",
        "/staff/sign-in",
        "/staff/sign-out",
    ]
    for path in paths:
        answer = await client.post(path, data=form)
        assert answer.status_code == 403, path
        assert "This form has expired" in answer.text, path
    assert await status_of(container, ana) == "confirmed"
    assert (await client.get("/staff/calendar")).status_code == 200  # still signed in


async def test_foreign_and_made_up_ids_answer_the_same_404_page(
    browser: Browser, container: Container, visits: dict[str, tuple[str, str]]
) -> None:
    ana, ana_patient = visits["ana"]
    nurse = await staff(container, "grace", "practitioner", "nurse")
    async with browser(nurse) as http:
        for path in (
            f"/staff/bookings/{ana}",  # doctor1's
            f"/staff/patients/{ana_patient}",  # doctor1's patient
            "/staff/bookings/no-such-booking",
            "/staff/patients/00000000-0000-0000-0000-000000000000",
        ):
            answer = await http.get(path)
            assert answer.status_code == 404, path
            assert NOT_FOUND in answer.text.lower(), path
            assert "Ana" not in answer.text
        answer = await post(http, "/staff/bookings/no-such-booking/check-in")
        assert (answer.status_code, NOT_FOUND in answer.text.lower()) == (404, True)
    desk = await staff(container, "desk", "front_desk")
    async with browser(desk) as http:
        for path in ("/staff/payments/no-such-order", "/staff/bookings/x/unknown-action"):
            answer = await (http.get(path) if "payments" in path else post(http, path))
            assert answer.status_code == 404, path
            assert NOT_FOUND in answer.text.lower(), path


async def test_opening_a_record_leaves_the_audit_row_the_api_leaves(
    browser: Browser, container: Container, visits: dict[str, tuple[str, str]]
) -> None:
    _, ana_patient = visits["ana"]
    _, ben_patient = visits["ben"]
    doctor = await staff(container, "elena", "practitioner", "doctor1")
    async with browser(doctor) as http:
        record = await http.get(f"/staff/patients/{ana_patient}")
        assert record.status_code == 200
        assert "Ana Quill" in record.text
        assert (await http.get(f"/staff/patients/{ben_patient}")).status_code == 404
    rows = await audit_rows(container, "read_record")
    assert sorted(rows) == sorted(
        [
            ("practitioner", ana_patient, ana_patient, "allowed"),
            ("practitioner", ben_patient, ben_patient, "denied"),
        ]
    )


async def test_the_front_desk_books_for_a_new_patient_and_for_one_on_record(
    browser: Browser, container: Container, visits: dict[str, tuple[str, str]]
) -> None:
    _, ana_patient = visits["ana"]
    desk = await staff(container, "desk", "front_desk")
    async with browser(desk) as http:
        week = await http.get(
            "/staff/book",
            params={"visit": "alternative_medicine:initial:20", "practitioner": "doctor1"},
        )
        starts = re.findall(r'name="start" value="([^"]+)"', week.text)
        assert len(starts) >= 2
        made = []
        for start, who in ((starts[0], None), (starts[-1], ana_patient)):
            form = {"visit": "alternative_medicine:initial:20", "start": start}
            form |= {"practitioner": "doctor1"} | ({"patient": who} if who else {})
            held = await post(http, "/staff/book/hold", form)
            assert held.status_code == 303, held.text
            details = held.headers["location"]
            if who is None:
                missing = await post(http, details, {"first_name": "Cy", "last_name": "Vale"})
                assert missing.status_code == 422
                assert "Give an email or a phone number" in missing.text
                patient = {"first_name": "Cy", "last_name": "Vale", "email": "cy@example.com"}
            else:
                page = await http.get(details)
                assert "For <strong>Ana Quill</strong>" in page.text
                patient = {}
            done = await post(http, details, patient)
            assert done.status_code == 303, done.text
            made.append(done.headers["location"].rsplit("/", 1)[1])
    async with container.db.read() as conn:
        rows = {
            r.id: (r.status, r.patient_id)
            for r in await conn.execute(select(appointments).where(appointments.c.id.in_(made)))
        }
    assert rows[made[0]][0] == rows[made[1]][0] == "confirmed"
    assert rows[made[1]][1] == ana_patient
    assert rows[made[0]][1] not in (None, ana_patient)


@pytest.mark.parametrize("role", ["billing", "analyst", "practitioner"])
async def test_booking_for_a_patient_is_not_offered_to_roles_that_may_not(
    browser: Browser, container: Container, role: str
) -> None:
    who = await staff(container, f"{role}1", role, "nurse" if role == "practitioner" else None)
    async with browser(who) as http:
        home = await http.get("/staff", follow_redirects=True)
        assert 'href="/staff/book"' not in home.text
        form = {"visit": "alternative_medicine:initial:20", "start": TODAY_2PM.isoformat()}
        answer = await post(http, "/staff/book/hold", form)
        assert answer.status_code == 403
    async with container.db.read() as conn:
        assert (await conn.execute(select(appointments))).first() is None


@pytest.mark.parametrize("role", ["front_desk", "billing", "practitioner", "analyst"])
async def test_the_launch_and_the_flags_are_for_admins_only(
    browser: Browser, container: Container, role: str
) -> None:
    who = await staff(container, f"{role}1", role, "nurse" if role == "practitioner" else None)
    async with browser(who) as http:
        waitlist = await http.get("/staff/waitlist")
        assert "/launch" not in waitlist.text
        launch = await post(http, "/staff/waitlist/counseling/launch")
        assert launch.status_code == 403
        assert "your role may not launch services" in launch.text.lower()
        assert (await http.get("/staff/flags")).status_code == 403
        flag = await post(http, "/staff/flags/waitlist_auto_offers", {"percentage": "50"})
        assert flag.status_code == 403
    assert all(f.updated_at is None for f in await container.flags.list(ADMIN))


async def test_an_admin_is_told_why_a_tbd_service_cannot_launch_and_may_set_a_flag(
    client: httpx.AsyncClient, container: Container
) -> None:
    await sign_in(client, container, await staff(container, "ada", "admin"))
    page = await client.get("/staff/waitlist", params={"service": "counseling"})
    assert "Not ready yet: no visit durations are configured" in page.text
    refused = await post(client, "/staff/waitlist/counseling/launch")
    assert refused.status_code == 422
    assert "Counseling cannot launch yet: no visit durations are configured" in refused.text
    assert not container.catalog.services["counseling"].bookable

    flag = await post(client, "/staff/flags/waitlist_auto_offers", {"percentage": "40"})
    assert flag.status_code == 303
    flags = {f.key: f for f in await container.flags.list(ADMIN)}
    assert (flags["waitlist_auto_offers"].enabled, flags["waitlist_auto_offers"].percentage) == (
        False,
        40,
    )


async def test_billing_refunds_from_the_visits_payment_and_other_roles_are_refused(
    api: httpx.AsyncClient, pay: Container, stripe_server: FakeStripe, paid: PaidVisit
) -> None:
    booking, order = paid.booking, paid.order
    billing = await staff(pay, "bill", "billing")
    await sign_in(api, pay, billing)
    visit = await api.get(f"/staff/bookings/{booking['id']}")
    assert f'href="/staff/payments/{order["id"]}"' in visit.text
    page = await api.get(f"/staff/payments/{order['id']}")
    assert page.status_code == 200
    assert "Payment of $119.00" in page.text
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key is not None

    form = {"booking_id": "", "amount": "forty", "reason": "", "key": key.group(1)}
    wrong = await post(api, f"/staff/payments/{order['id']}/refund", form)
    assert wrong.status_code == 422
    assert 'id="f-amount-error"' in wrong.text
    assert "Give the amount in dollars, e.g. 40 or 40.50" in wrong.text
    assert 'id="f-reason-error">Say why the payment is refunded<' in wrong.text

    form |= {"amount": "40.50", "reason": "goodwill: the room was cold"}
    for _ in range(2):  # pressed twice: refunded once (the form's key)
        done = await post(api, f"/staff/payments/{order['id']}/refund", form)
        assert done.status_code == 303, done.text
    shown = await api.get(f"/staff/payments/{order['id']}")
    assert "goodwill: the room was cold" in shown.text
    intent = order["provider_id"]
    refunds = [r["amount"] for r in stripe_server.refunds.values() if r["payment_intent"] == intent]
    assert refunds == [4050]

    for role in ("practitioner", "analyst"):
        who = await staff(pay, f"{role}9", role, "doctor1" if role == "practitioner" else None)
        transport = httpx.ASGITransport(app=create_app(container=pay))
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            await sign_in(http, pay, who)
            assert (await http.get(f"/staff/payments/{order['id']}")).status_code == 403
            form = {"amount": "10", "reason": "try", "key": "k" * 12}
            refused = await post(http, f"/staff/payments/{order['id']}/refund", form)
            assert refused.status_code == 403
            assert "your role may not refund payments" in refused.text.lower()
    assert len([r for r in stripe_server.refunds.values() if r["payment_intent"] == intent]) == 1


async def test_the_sign_in_backs_off_after_repeated_failures_as_the_api_does(
    client: httpx.AsyncClient, container: Container
) -> None:
    await staff(container, "desk", "front_desk")
    wrong = {"username": "desk", "password": "guess"}
    statuses = [(await post(client, "/staff/sign-in", wrong)).status_code for _ in range(5)]
    assert statuses == [401] * 5
    waiting = await post(client, "/staff/sign-in", {"username": "desk", "password": PASSWORD})
    assert waiting.status_code == 429  # even the right password, until the wait is over
    assert 'class="problem" role="alert"' in waiting.text
    api = await client.post("/v1/auth/login", json={"username": "desk", "password": PASSWORD})
    assert api.status_code == 429
    assert api.json()["detail"][1:] in waiting.text


async def test_every_console_page_has_the_policy_and_nothing_inline(
    client: httpx.AsyncClient, container: Container, visits: dict[str, tuple[str, str]]
) -> None:
    ana, ana_patient = visits["ana"]
    signed_out = await client.get("/staff")
    for pattern in INLINE:
        assert not pattern.search(signed_out.text), pattern.pattern
    await sign_in(client, container, await staff(container, "ada", "admin"))
    paths = [
        "/staff/calendar",
        "/staff/calendar?view=week&practitioner=doctor1",
        f"/staff/bookings/{ana}",
        "/staff/patients?q=ana%40example.com",
        f"/staff/patients/{ana_patient}",
        "/staff/book?visit=alternative_medicine:initial:20",
        "/staff/waitlist?service=counseling",
        "/staff/flags",
    ]
    for path in paths:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-security-policy"] == CSP, path
        for pattern in INLINE:
            assert not pattern.search(answer.text), (path, pattern.pattern)
