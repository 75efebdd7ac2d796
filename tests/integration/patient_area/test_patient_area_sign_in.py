"""The patient's area over HTTP (helpers: support/patient_area.py; the visit_paid fixture: this
folder's conftest.py): the emailed link signs in through its page (and leads on to the page it
was asked from, and only to a page of the area); signed out, every page explains and offers a
link and never tells who is known; signing out ends the session; patient A gets the same 404
page for patient B's visit, receipt, reschedule and cancel as for ids that do not exist, and
nothing of B's changes.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6); the visit
is Wednesday 10:00, 25 hours ahead (the full-refund window is 24 hours).
"""

from __future__ import annotations

import re

import httpx

from clinicflow.bootstrap import Container
from clinicflow.web.security import CSP, CSRF_FIELD
from support.patient_area import (
    LINK,
    NOT_FOUND,
    SIGNED_OUT,
    book,
    csrf,
    mailbox,
    paid_at_the_desk,
    post_form,
    refunds_of,
    signed_in,
    status_of,
    text_of,
)

# -- signing in ------------------------------------------------------------------------------


async def test_the_emailed_link_opens_a_button_that_signs_in_and_leads_on(
    client: httpx.AsyncClient, container: Container
) -> None:
    visit = await book(client)
    then = f"/me/visits/{visit['id']}"
    before = set(mailbox(container))
    asked = await post_form(
        client, then, "/sign-in/link", {"email": "Pat1@Example.com", "next": then}
    )
    assert "a sign-in link is on its way" in asked.text
    [mail] = set(mailbox(container)) - before
    found = LINK.search(text_of(mail))
    assert found
    assert found.group(2) == then  # the link leads back to the page it was asked from
    token = found.group(1)

    for _ in range(2):  # a mail scanner's visit, then the patient's: the token is intact
        page = await client.get(found.group(0))
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CSP
        assert page.headers["referrer-policy"] == "no-referrer"
        assert f'name="token" value="{token}"' in page.text
        assert 'method="post" action="/sign-in"' in page.text

    without_token = await client.post("/sign-in", data={"token": token, "next": then})
    assert without_token.status_code == 403  # CSRF first: nothing redeemed
    signed = await client.post("/sign-in", data={CSRF_FIELD: csrf(page), "token": token})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/me"
    assert "cf_session=" in signed.headers["set-cookie"]
    shown = await client.get(then)
    assert shown.status_code == 200
    assert "Your visit" in shown.text
    assert "Alternative medicine" in shown.text

    client.cookies.clear()  # another browser opens the same link
    page = await client.get(found.group(0))
    again = await client.post("/sign-in", data={CSRF_FIELD: csrf(page), "token": token})
    assert again.status_code == 401
    assert "already used" in again.text
    assert SIGNED_OUT in again.text  # and the way to a new one


async def test_the_button_leads_on_only_to_a_page_of_the_area(
    client: httpx.AsyncClient, container: Container
) -> None:
    visit = await book(client)
    then = f"/me/visits/{visit['id']}"
    went = await signed_in(client, container, "pat1@example.com", then)
    assert went.headers["location"] == then
    client.cookies.clear()
    # (each sign-in costs three of the ten "auth" requests a minute; the rest of the
    # cases are in tests/unit/identity/test_sign_in_links.py)
    went = await signed_in(client, container, "pat1@example.com", "//evil.example/me")
    assert went.status_code == 303
    assert went.headers["location"] == "/me"


async def test_signed_out_every_page_explains_and_the_answer_never_tells_who_is_known(
    client: httpx.AsyncClient, container: Container
) -> None:
    visit = await book(client)
    for path in (
        "/me",
        f"/me/visits/{visit['id']}",
        f"/me/visits/{visit['id']}/cancel",
        f"/me/visits/{visit['id']}/reschedule",
        "/me/receipts/some-order",
        "/me/receipts/some-order/receipt.pdf",
        "/me/details",
        "/sign-in",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert SIGNED_OUT in page.text, path
        assert visit["id"] not in page.text.replace(f'value="{path}"', ""), path

    sent = mailbox(container)
    unknown = await post_form(client, "/me", "/sign-in/link", {"email": "nobody@example.com"})
    assert mailbox(container) == sent
    known = await post_form(client, "/me", "/sign-in/link", {"email": "pat1@example.com"})
    assert len(mailbox(container)) == len(sent) + 1
    assert unknown.status_code == known.status_code == 200
    strip = re.compile(r'value="[0-9a-f]{64}"|nobody@example\.com|pat1@example\.com')
    assert strip.sub("", unknown.text) == strip.sub("", known.text)

    bad = await post_form(client, "/me", "/sign-in/link", {"email": "not-an-address"})
    assert bad.status_code == 422
    assert 'aria-describedby="f-email-error' in bad.text


async def test_signing_out_ends_the_session(
    client: httpx.AsyncClient, container: Container
) -> None:
    await book(client)
    await signed_in(client, container, "pat1@example.com")
    session = client.cookies.get("cf_session")
    assert session
    out = await post_form(client, "/me", "/me/sign-out")
    assert out.status_code == 303
    assert SIGNED_OUT in (await client.get("/me")).text
    old = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {session}"})
    assert old.status_code == 401  # revoked, not only forgotten by the browser


# -- another patient's ids -------------------------------------------------------------------


async def test_patient_a_gets_the_same_404_for_patient_bs_ids_and_nothing_changes(
    client: httpx.AsyncClient, container: Container
) -> None:
    mine = await book(client, 1)
    theirs = await book(client, 2, start="2026-11-25T11:00:00-06:00")
    order = await paid_at_the_desk(client, container, theirs["id"])
    before = await status_of(container, theirs["id"])
    await signed_in(client, container, "pat1@example.com")
    assert (await client.get(f"/me/visits/{mine['id']}")).status_code == 200

    answers = []
    for owner_id, order_id in ((theirs["id"], order["id"]), ("no-such-visit", "no-such-order")):
        gets = [
            f"/me/visits/{owner_id}",
            f"/me/visits/{owner_id}/cancel",
            f"/me/visits/{owner_id}/reschedule",
            f"/me/receipts/{order_id}",
            f"/me/receipts/{order_id}/receipt.pdf",
        ]
        for path in gets:
            page = await client.get(path)
            assert page.status_code == 404, path
            assert NOT_FOUND in page.text, path
            answers.append(page.text)
        me = await client.get("/me")
        for action, data in (
            (f"/me/visits/{owner_id}/cancel", {}),
            (f"/me/visits/{owner_id}/reschedule", {"start": "2026-11-26T10:00:00-06:00"}),
        ):
            page = await client.post(action, data={CSRF_FIELD: csrf(me), **data})
            assert page.status_code == 404, action
            assert NOT_FOUND in page.text
    assert "pat2" not in "".join(answers).lower()
    assert await status_of(container, theirs["id"]) == before
    await container.bus.run_once()
    assert await refunds_of(container, order["id"]) == []
