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
from clinicflow.web.security import CSRF_FIELD
from support.app import PASSWORD
from support.staff_console import (
    TODAY_2PM,
    TODAY_3PM,
    Staff,
    audit_rows,
    booked,
    staff,
    status_of,
)

TOKEN = re.compile(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"')
NOT_FOUND = "there is nothing here, or nothing you may open"
Browser = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container=container)


@pytest.fixture
def browser(app: FastAPI) -> Browser:
    """A new browser (its own cookies) on the app, as often as a test needs one."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            yield http

    return opened


async def token(http: httpx.AsyncClient, path: str = "/staff") -> str:
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


async def sign_in(http: httpx.AsyncClient, container: Container, who: Staff) -> None:
    form = {"username": who.username, "password": PASSWORD, "totp_code": who.code(container) or ""}
    answer = await post(http, "/staff/sign-in", form)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/staff"


async def test_the_sign_in_says_what_is_wrong_beside_the_form_and_then_opens_the_console(
    client: httpx.AsyncClient, container: Container
) -> None:
    admin = await staff(container, "ada", "admin")
    signed_out = await client.get("/staff")
    assert signed_out.status_code == 200
    assert "Staff sign-in" in signed_out.text

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
