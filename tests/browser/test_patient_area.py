"""The patient's area in chromium: the link in the confirmation email opens a sign-in page, the
emailed sign-in link signs the patient in and leads back to that visit; moving the visit and
cancelling it work, and the refund shown before cancelling is the refund made; the receipt
and the contact details pages work; inside the late window the visit says "contact the
clinic". axe finds nothing serious on any page or state on the way.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago); the visit is
Wednesday 10:00, 25 hours ahead (the full-refund window is 24 hours).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, Page
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.payments.tables import refunds
from clinicflow.shared.clock import FixedClock
from support.app import staff_session
from support.browser import SESSION_LOOP, assert_accessible
from support.fake_smtp import FakeSmtpRelay
from support.loopback_tls import loopback_tls

pytestmark = SESSION_LOOP

WED_10 = "2026-11-25T10:00:00-06:00"
PATIENT = {
    "first_name": "Nora",
    "last_name": "Lind",
    "email": "nora.lind@example.com",
    "phone": "+15125550101",
}
URL = re.compile(r"https?://[^\s\"'<>]+")


async def _booked_and_paid(site: str, container: Container) -> tuple[dict[str, Any], int]:
    """A visit booked on the API and paid at the front desk (cash): the booking, the total."""
    async with httpx.AsyncClient(base_url=site, trust_env=False, verify=loopback_tls()) as api:
        made = await api.post(
            "/v1/bookings",
            json={
                "service": "alternative_medicine",
                "visit_type": "initial",
                "duration": 20,
                "start": WED_10,
                "practitioner": "doctor1",
                "patient": PATIENT,
            },
        )
        assert made.status_code == 201, made.text
        desk = await staff_session(container, "desk", "front_desk")
        body = {"booking_ids": [made.json()["id"]], "method": "in_clinic", "tender": "cash"}
        paid = await api.post("/v1/payments", json=body, headers=desk)
        assert paid.status_code == 201, paid.text
        return made.json(), int(paid.json()["total_cents"])


async def _mail(smtp: FakeSmtpRelay, subject: str) -> str:
    """The newest email to the patient whose subject has `subject`."""
    return (await smtp.mail(str(PATIENT["email"]), subject))[-1]


def _on_site(site: str, url: str) -> str:
    """A link from an email, on the served site (the emails name the configured URL)."""
    return site + re.sub(r"^https?://[^/]+", "", url)


async def _refunded(container: Container, order_of: str) -> list[int]:
    for _ in range(100):
        async with container.db.read() as conn:
            rows = await conn.execute(
                select(refunds.c.amount_cents, refunds.c.status).where(
                    refunds.c.booking_id == order_of
                )
            )
            done = [r.amount_cents for r in rows if r.status == "succeeded"]
        if done:
            return done
        await asyncio.sleep(0.1)
    return []


async def _start_of(container: Container, booking_id: str) -> tuple[str, Any]:
    async with container.db.read() as conn:
        row = (
            await conn.execute(
                select(appointments.c.status, appointments.c.start_at).where(
                    appointments.c.id == booking_id
                )
            )
        ).one()
    return row.status, row.start_at


async def _sign_in_from(page: Page, site: str, smtp: FakeSmtpRelay) -> None:
    """On the signed-out page: ask for a link, open it from the email, press Sign in."""
    await page.get_by_text("Sign in to see your visits").wait_for()
    await assert_accessible(page)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_text("Give the email address you booked with").wait_for()
    await assert_accessible(page)  # the error stands beside the field
    await page.get_by_label("Your email").fill(PATIENT["email"])
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    await assert_accessible(page)
    text = await _mail(smtp, "sign-in link")
    [link] = [u for u in URL.findall(text) if "/sign-in?token=" in u]
    await page.goto(_on_site(site, link))
    await assert_accessible(page)
    await page.get_by_role("button", name="Sign in").click()


async def test_the_emailed_link_signs_in_and_the_visit_moves_and_cancels_with_the_refund_shown(
    site: str, browser: Browser, container: Container, smtp: FakeSmtpRelay
) -> None:
    visit, total = await _booked_and_paid(site, container)
    confirmation = await _mail(smtp, "is booked")
    [manage] = {u for u in URL.findall(confirmation) if "/me/visits/" in u}
    page = await browser.new_page()

    # The confirmation's link, signed out: the page explains and sends a link back to it.
    await page.goto(_on_site(site, manage))
    await _sign_in_from(page, site, smtp)
    await page.wait_for_url(re.compile(rf"/me/visits/{visit['id']}$"))
    await page.get_by_role("heading", name="Your visit").wait_for()
    await assert_accessible(page)

    await page.get_by_role("link", name="Visits", exact=True).click()
    await page.wait_for_url(re.compile(r"/me$"))
    await assert_accessible(page)
    await page.locator(f"a[href='/me/visits/{visit['id']}']").click()

    # Move it: a week of open times, one press.
    await page.get_by_role("link", name="Move to another time").click()
    await page.wait_for_url(re.compile(r"/reschedule"))
    await assert_accessible(page)
    slot = page.locator("form.week button[name=start]").last
    new_start = str(await slot.get_attribute("value"))
    await slot.click()
    await page.wait_for_url(re.compile(r"done=moved"))
    await page.get_by_text("Your visit is moved").wait_for()
    await assert_accessible(page)
    status, start = await _start_of(container, visit["id"])
    assert status == "confirmed"
    assert start.isoformat()[:16] == new_start[:16] or start != visit["start"]

    # Cancel it: the refund is shown first, and is the refund made.
    await page.get_by_role("link", name="Cancel this visit").click()
    await page.wait_for_url(re.compile(r"/cancel$"))
    await assert_accessible(page)
    said = await page.locator("#refund-amount strong").inner_text()
    shown = int(said.replace("$", "").replace(",", "").replace(".", ""))
    assert shown == total  # more than 24 hours ahead: all of it
    await page.get_by_role("button", name="Yes, cancel this visit").click()
    await page.wait_for_url(re.compile(r"done=cancelled"))
    await page.get_by_text("Your visit is cancelled").wait_for()
    await assert_accessible(page)
    assert (await _start_of(container, visit["id"]))[0] == "cancelled"
    assert await _refunded(container, visit["id"]) == [shown]

    # The receipt says so too, with its PDF.
    await page.reload()
    await page.get_by_role("link", name="Your receipt").click()
    await page.get_by_role("heading", name="Your receipt").wait_for()
    await assert_accessible(page)
    assert f"−{said}" in await page.locator("#refunded").inner_text()
    pdf = await page.request.get(
        site + str(await page.get_by_role("link", name="Download as PDF").get_attribute("href"))
    )
    assert pdf.headers["content-type"] == "application/pdf"

    # Contact details and consents: a mistake is shown beside its field; then saved.
    await page.get_by_role("link", name="Contact details").click()
    await page.get_by_role("heading", name="Your contact details").wait_for()
    await assert_accessible(page)
    await page.locator("#f-email").fill("not an address")
    await page.get_by_role("button", name="Save").click()
    await page.locator("#f-email-error").wait_for()
    await assert_accessible(page)
    await page.locator("#f-email").fill(PATIENT["email"])
    await page.get_by_label("Text messages (SMS)").check()
    await page.get_by_role("button", name="Save").click()
    await page.get_by_text("Saved.").wait_for()
    assert await page.get_by_label("Text messages (SMS)").is_checked()
    await assert_accessible(page)

    # Signing out: the area asks to sign in again.
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(site + "/")
    await page.goto(site + "/me")
    await page.get_by_text("Sign in to see your visits").wait_for()


async def test_a_late_cancel_shows_contact_the_clinic(
    site: str, browser: Browser, container: Container, smtp: FakeSmtpRelay, clock: FixedClock
) -> None:
    visit, _ = await _booked_and_paid(site, container)
    clock.advance(timedelta(hours=3))  # 22 hours before the visit: inside the late window
    page = await browser.new_page()
    await page.goto(site + "/me")
    await _sign_in_from(page, site, smtp)
    await page.wait_for_url(re.compile(r"/me$"))
    await page.locator(f"a[href='/me/visits/{visit['id']}']").click()
    await page.get_by_text("Please contact the clinic").wait_for()
    await assert_accessible(page)
    assert await page.get_by_role("link", name="+1 512 555 0142").count() == 1
    assert await page.get_by_role("link", name="Cancel this visit").count() == 0
    assert await page.get_by_role("link", name="Move to another time").count() == 0
    await page.goto(site + f"/me/visits/{visit['id']}/cancel")  # typed by hand: the same
    await page.get_by_text("Please contact the clinic").wait_for()
    assert await page.get_by_role("button", name="Yes, cancel this visit").count() == 0
    assert (await _start_of(container, visit["id"]))[0] == "confirmed"
