"""The pages' own defences, over HTTP: every form refuses a missing or foreign CSRF token and
does nothing; every page carries the Content-Security-Policy and no inline script or style."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.web.security import CSP, CSRF_FIELD
from support.web_policy import INLINE

WEEK = "/book?service=alternative_medicine&visit_type=initial&duration=20"
TOKEN = re.compile(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"')


async def _held(container: Container) -> int:
    async with container.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(appointments))).scalar())


async def _slot_form(client: httpx.AsyncClient) -> dict[str, str]:
    page = await client.get(WEEK)
    assert page.status_code == 200
    start = re.search(r'name="start" value="([^"]+)"', page.text)
    token = TOKEN.search(page.text)
    assert start is not None
    assert token is not None
    return {
        CSRF_FIELD: token.group(1),
        "service": "alternative_medicine",
        "visit_type": "initial",
        "duration": "20",
        "start": start.group(1),
    }


@pytest.mark.parametrize("tamper", ["missing", "wrong", "another_browser", "other_session"])
async def test_a_form_without_its_own_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, tamper: str
) -> None:
    form = await _slot_form(client)
    if tamper == "missing":
        del form[CSRF_FIELD]
    elif tamper == "wrong":
        form[CSRF_FIELD] = "0" * 64
    elif tamper == "another_browser":
        client.cookies.set("cf_csrf", "someone-elses-nonce")
    else:  # the token was made for a browser without a session; now it presents one
        client.cookies.set("cf_session", "cfs_not-the-one-the-token-was-made-for")
    answer = await client.post("/book/hold", data=form)
    assert answer.status_code == 403
    assert "This form has expired" in answer.text
    assert answer.headers["content-security-policy"] == CSP
    assert await _held(container) == 0


async def test_the_same_form_with_its_token_holds_the_slot(
    client: httpx.AsyncClient, container: Container
) -> None:
    answer = await client.post("/book/hold", data=await _slot_form(client))
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/book/hold/")
    assert await _held(container) == 1


async def test_every_page_has_the_policy_and_nothing_inline(client: httpx.AsyncClient) -> None:
    hold = await client.post("/book/hold", data=await _slot_form(client))
    pages = ["/", WEEK, hold.headers["location"]]
    for path in pages:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-security-policy"] == CSP, path
        assert "'unsafe-inline'" not in CSP
        for pattern in INLINE:
            assert not pattern.search(answer.text), (path, pattern.pattern)


async def test_bad_choices_get_a_page_that_says_what_to_change(client: httpx.AsyncClient) -> None:
    cases = {
        "/book?service=nope&visit_type=initial&duration=20": "there is no service",
        "/book?service=weight_loss&visit_type=initial&duration=20": "cannot be booked online yet",
        "/book?service=alternative_medicine&visit_type=initial&duration=45": "15, 20 minutes",
        "/book?service=alternative_medicine&visit_type=initial&duration=x": "",
    }
    for path, said in cases.items():
        answer = await client.get(path)
        assert answer.status_code in (400, 422), path
        assert said.lower() in answer.text.lower(), path
