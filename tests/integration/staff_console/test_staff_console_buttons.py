"""The staff console over HTTP (the app, a browser per staff member and this afternoon's visits:
this folder's conftest.py). This module: each button's POST is refused for a role that may not
use it (and without its form's token) and changes nothing, and is allowed to the front desk and
the visit's own practitioner; foreign and made-up ids answer the same 404 page.
"""

from __future__ import annotations

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.web.security import CSRF_FIELD
from support.staff_console import post, staff, status_of
from support.staff_console import sign_in_over_http as sign_in
from support.staff_console_pages import NOT_FOUND, Browser


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
