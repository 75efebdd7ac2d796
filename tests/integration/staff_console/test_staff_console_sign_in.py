"""The staff console over HTTP (the app, a browser per staff member and this afternoon's visits:
this folder's conftest.py). This module: the sign-in says what went wrong in plain words and
backs off after repeated failures as the API does; every console page has the policy and nothing
inline.
"""

from __future__ import annotations

import re

import httpx

from clinicflow.bootstrap import Container
from clinicflow.web.security import CSP
from support.app import PASSWORD
from support.pages import INLINE
from support.staff_console import post, staff
from support.staff_console import sign_in_over_http as sign_in


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
