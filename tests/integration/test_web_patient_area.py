"""The patient's area over HTTP: the emailed link signs in through its page (and leads on to
the page it was asked from); signed out, every page explains and offers a link; patient A
gets the same 404 page for patient B's visit, receipt, reschedule and cancel as for ids that
do not exist, and nothing of B's changes; cancelling shows the refund the policy gives and
makes exactly that refund; inside the late window the page says "contact the clinic" and
refuses a cancel posted anyway; contact details and consents change; every link of every
notification template leads to a working page, signed in or not.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6); the
visit is Wednesday 10:00, 25 hours ahead (the full-refund window is 24 hours).
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.notifications.domain.payment import PaymentNotice
from clinicflow.notifications.domain.render import TEMPLATES, Renderer, RenderOptions
from clinicflow.notifications.domain.visit import Visit
from clinicflow.payments.tables import refunds
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSP, CSRF_FIELD
from support.api import WED_10, booking
from support.app import staff_session
from support.pages import INLINE, TOKEN

LINK = re.compile(r"/sign-in\?token=(cfl_[A-Za-z0-9_-]+)(?:&next=([^\s]+))?")
SIGNED_OUT = "Email me a sign-in link"
NOT_FOUND = "We could not find that"
BASE = "http://clinic.test"


def mailbox(container: Container) -> list[Path]:
    return sorted((container.settings.data_dir / "mailbox").glob("*.eml"))


def text_of(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def csrf(page: httpx.Response) -> str:
    found = TOKEN.search(page.text)
    assert found, f"no form token on {page.url}"
    return found.group(1)


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """Opens `page`, then posts its form to `action` with the page's own token."""
    shown = await client.get(page)
    return await client.post(action, data={CSRF_FIELD: csrf(shown), **(data or {})})


async def book(client: httpx.AsyncClient, n: int = 1, start: str = WED_10) -> dict[str, Any]:
    made = await client.post("/v1/bookings", json=booking(start, n))
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def paid_at_the_desk(
    client: httpx.AsyncClient, container: Container, booking_id: str, desk: str = "desk"
) -> dict[str, Any]:
    headers = await staff_session(container, desk, "front_desk")
    body = {"booking_ids": [booking_id], "method": "in_clinic", "tender": "cash"}
    paid = await client.post("/v1/payments", json=body, headers=headers)
    assert paid.status_code == 201, paid.text
    order: dict[str, Any] = paid.json()
    return order


@pytest.fixture
async def visit_paid(
    client: httpx.AsyncClient, container: Container
) -> tuple[dict[str, Any], dict[str, Any]]:
    """pat1's visit (Wednesday 10:00) booked on the API and paid in cash at the front desk:
    the booking and its order."""
    visit = await book(client)
    return visit, await paid_at_the_desk(client, container, visit["id"])


async def signed_in(
    client: httpx.AsyncClient, container: Container, address: str, then: str = ""
) -> httpx.Response:
    """Asks for a link on the page, opens the emailed link and presses its button."""
    before = set(mailbox(container))
    form = {"email": address, **({"next": then} if then else {})}
    asked = await post_form(client, "/me", "/sign-in/link", form)
    assert asked.status_code == 200, asked.text
    [new] = set(mailbox(container)) - before
    found = LINK.search(text_of(new))
    assert found, "no sign-in link in the email"
    link = found.group(0)
    button = await client.get(link)
    assert button.status_code == 200
    token = found.group(1)
    data = {"token": token, "next": then} if then else {"token": token}
    return await client.post("/sign-in", data={CSRF_FIELD: csrf(button), **data})


async def status_of(container: Container, booking_id: str) -> tuple[str, Any]:
    query = select(appointments.c.status, appointments.c.start_at).where(
        appointments.c.id == booking_id
    )
    async with container.db.read() as conn:
        row = (await conn.execute(query)).one()
    return row.status, row.start_at


async def refunds_of(container: Container, order_id: str) -> list[int]:
    query = select(refunds.c.amount_cents).where(refunds.c.order_id == order_id)
    async with container.db.read() as conn:
        return [r.amount_cents for r in await conn.execute(query)]


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


# -- cancelling with the refund shown --------------------------------------------------------


async def test_cancelling_shows_the_refund_the_policy_gives_and_makes_exactly_it(
    client: httpx.AsyncClient, container: Container, visit_paid: tuple[dict[str, Any], ...]
) -> None:
    visit, order = visit_paid
    await signed_in(client, container, "pat1@example.com")

    page = await client.get(f"/me/visits/{visit['id']}")
    assert f"/me/receipts/{order['id']}" in page.text
    confirm = await client.get(f"/me/visits/{visit['id']}/cancel")
    assert confirm.status_code == 200
    shown = re.search(r'id="refund-amount">We refund <strong>\$([\d,]+)\.(\d\d)', confirm.text)
    assert shown, confirm.text
    shown_cents = int(shown.group(1).replace(",", "")) * 100 + int(shown.group(2))
    assert shown_cents == order["total_cents"]  # 25 h ahead: in time, all of it

    done = await client.post(f"/me/visits/{visit['id']}/cancel", data={CSRF_FIELD: csrf(confirm)})
    assert done.status_code == 303
    assert (await status_of(container, visit["id"]))[0] == "cancelled"
    await container.bus.run_once()  # the payments subscriber refunds by the policy
    assert await refunds_of(container, order["id"]) == [shown_cents]
    after = await client.get(done.headers["location"])
    assert "Your visit is cancelled" in after.text
    receipt = await client.get(f"/me/receipts/{order['id']}")
    assert receipt.status_code == 200
    assert f"−${shown_cents // 100}.{shown_cents % 100:02d}" in receipt.text
    pdf = await client.get(f"/me/receipts/{order['id']}/receipt.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


async def test_inside_the_late_window_the_page_says_contact_the_clinic_and_refuses(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    visit_paid: tuple[dict[str, Any], ...],
) -> None:
    visit, order = visit_paid
    clock.advance(timedelta(hours=2))  # 23 h before the visit: late
    await signed_in(client, container, "pat1@example.com")
    page = await client.get(f"/me/visits/{visit['id']}")  # its token, for the posts below

    for path in (f"/me/visits/{visit['id']}", f"/me/visits/{visit['id']}/cancel"):
        late = await client.get(path)
        assert late.status_code == 200
        assert "contact the clinic" in late.text
        assert 'href="tel:+15125550142"' in late.text  # the billing identity's phone
        assert "Cancel this visit" not in late.text
        assert "Yes, cancel" not in late.text
    for action in ("cancel", "reschedule"):
        refused = await client.post(
            f"/me/visits/{visit['id']}/{action}",
            data={CSRF_FIELD: csrf(page), "start": "2026-11-26T10:00:00-06:00"},
        )
        assert refused.status_code == 409
    assert (await status_of(container, visit["id"]))[0] == "confirmed"
    await container.bus.run_once()
    assert await refunds_of(container, order["id"]) == []


async def test_rescheduling_moves_the_visit_to_a_time_picked_from_the_week(
    client: httpx.AsyncClient, container: Container
) -> None:
    visit = await book(client)
    await signed_in(client, container, "pat1@example.com")
    week = await client.get(f"/me/visits/{visit['id']}/reschedule")
    assert week.status_code == 200
    starts = re.findall(r'name="start" value="([^"]+)"', week.text)
    assert starts
    new = starts[-1]
    assert f'action="/me/visits/{visit["id"]}/reschedule"' in week.text
    later = await client.get(
        f"/me/visits/{visit['id']}/reschedule?week=2026-12-01", headers={"HX-Request": "true"}
    )
    assert later.text.lstrip().startswith('<section id="week"')  # only the week, for htmx

    moved = await client.post(
        f"/me/visits/{visit['id']}/reschedule", data={CSRF_FIELD: csrf(week), "start": new}
    )
    assert moved.status_code == 303, moved.text
    status, start = await status_of(container, visit["id"])
    assert status == "confirmed"
    assert start.isoformat()[:16] != visit["start"][:16]
    assert "Your visit is moved" in (await client.get(moved.headers["location"])).text

    taken = await book(client, 2, start="2026-11-25T11:00:00-06:00")
    clash = await client.post(
        f"/me/visits/{visit['id']}/reschedule",
        data={CSRF_FIELD: csrf(week), "start": taken["start"]},
    )
    assert clash.status_code == 409
    assert 'role="alert" id="problem"' in clash.text


# -- contact details and consents ------------------------------------------------------------


async def test_the_patient_changes_contact_details_and_consents(
    client: httpx.AsyncClient, container: Container
) -> None:
    visit = await book(client)
    await signed_in(client, container, "pat1@example.com")
    page = await client.get("/me/details")
    assert page.status_code == 200
    form = {
        CSRF_FIELD: csrf(page),
        "first_name": "Pat",
        "last_name": "One",
        "email": "pat1@example.com",
        "phone": "512 555 0199",
        "pronouns": "they/them",
        "pref_email": "on",
        "pref_sms": "on",
    }
    saved = await client.post("/me/details", data=form)
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert "Saved." in shown.text
    assert 'value="+15125550199"' in shown.text
    assert shown.text.count("You agreed on 2026-11-24") == 2
    api = await client.get(f"/v1/patients/{visit['patient_id']}")
    prefs = api.json()["contact_prefs"]
    assert (prefs["email"]["opt_in"], prefs["sms"]["opt_in"]) == (True, True)
    assert "push" not in prefs or not prefs["push"]["opt_in"]

    bad = await client.post("/me/details", data={**form, "email": "nope", "first_name": ""})
    assert bad.status_code == 422
    assert 'id="f-email-error"' in bad.text
    assert 'id="f-first_name-error"' in bad.text
    assert (await client.get(f"/v1/patients/{visit['patient_id']}")).json()["first_name"] == "Pat"


# -- every link a notification carries -------------------------------------------------------


async def test_every_link_in_every_notification_template_opens_a_page(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    visit_paid: tuple[dict[str, Any], ...],
) -> None:
    """Each template, each channel, rendered for a real visit and its real (paid, refunded)
    order: every URL in it answers 200 to its signed-in patient, and 200 with the sign-in
    page to a browser that is signed out."""
    made, order = visit_paid
    renderer = Renderer(container.catalog, RenderOptions(BASE))
    start = clock.now() + timedelta(days=1)
    visit = Visit(made["id"], "alternative_medicine", "initial", "doctor1", start, start)
    paid = PaymentNotice(
        order["id"], order["total_cents"], order["total_cents"], 0, "USD", "in_clinic",
        "in_clinic", (made["id"],),
    )  # fmt: skip
    names = {".".join(p.name.split(".")[:2]) for p in TEMPLATES.iterdir()}
    templates = sorted(n for n in names if not n.startswith("_") and ".subject" not in n)
    assert len(templates) == 14
    urls: set[str] = set()
    for template in templates:
        kind = template.split(".")[0]
        out = renderer.render(template, paid if kind in ("receipt", "refund") else visit)
        for text in (out.subject, out.text, out.html or "", *(out.data or {}).values()):
            urls |= {u.rstrip(".,;)") for u in re.findall(r"https?://[^\s\"'<>]+", text)}
    paths = {u.removeprefix(BASE) for u in urls}
    assert paths == {f"/me/visits/{made['id']}", f"/me/receipts/{order['id']}"}

    for path in sorted(paths):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert SIGNED_OUT in page.text, path
    await signed_in(client, container, "pat1@example.com")
    for path in sorted(paths):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert SIGNED_OUT not in page.text, path
        assert page.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("signed", [False, True])
async def test_every_patient_page_has_the_policy_and_nothing_inline(
    client: httpx.AsyncClient,
    container: Container,
    visit_paid: tuple[dict[str, Any], ...],
    signed: bool,
) -> None:
    visit, order = visit_paid
    if signed:
        await signed_in(client, container, "pat1@example.com")
    for path in (
        "/sign-in?token=cfl_x",
        "/me",
        f"/me/visits/{visit['id']}",
        f"/me/visits/{visit['id']}/cancel",
        f"/me/visits/{visit['id']}/reschedule",
        f"/me/receipts/{order['id']}",
        "/me/details",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CSP, path
        assert page.headers["cache-control"] == "no-store", path
        for pattern in INLINE:
            assert not pattern.search(page.text), (path, pattern.pattern)
