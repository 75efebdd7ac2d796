"""Paying online on the booking site, in chromium: a new patient books alternative medicine
(initial, 20 min) in at most four steps and pays with the card form that the local fake
Stripe serves in place of Stripe.js; Stripe's signed webhook lands, the confirmation says
paid, the email comes, and the order is paid in the database. A declined card says so and
lets the patient try again. axe finds nothing serious on any page or state."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.payments.tables import order_bookings, orders
from clinicflow.settings import Settings
from support.browser import SESSION_LOOP, assert_accessible
from support.fake_smtp import FakeSmtpRelay
from support.fake_stripe import FakeStripe
from support.payment_servers import stripe_server as stripe_server

pytestmark = SESSION_LOOP

ALT_MED = "section[aria-labelledby='svc-alternative_medicine']"
CARD = "#card-element iframe"


@pytest.fixture
def settings(settings: Settings, stripe_server: FakeStripe) -> Settings:
    """The browser tests' settings with Stripe (the fake, on loopback) and its card form."""
    return Settings(**settings.model_dump() | stripe_server.app_settings())


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # support/fake_vendor.py's client for the fakes on loopback


async def _orders_of(container: Container, booking_id: str) -> list[tuple[str, str | None]]:
    async with container.db.read() as conn:
        rows = await conn.execute(
            select(orders.c.status, orders.c.provider)
            .join(order_bookings, order_bookings.c.order_id == orders.c.id)
            .where(order_bookings.c.booking_id == booking_id)
        )
        return [(r.status, r.provider) for r in rows]


async def _booking_at(container: Container, start: datetime) -> list[tuple[str, str]]:
    async with container.db.read() as conn:
        rows = await conn.execute(
            select(appointments.c.id, appointments.c.status).where(
                appointments.c.start_at == start.astimezone(UTC)
            )
        )
        return [(r.id, r.status) for r in rows]


async def test_a_new_patient_books_and_pays_by_card_in_four_steps(
    site: str,
    browser: Browser,
    container: Container,
    smtp: FakeSmtpRelay,
    stripe_server: FakeStripe,
) -> None:
    stripe_server.webhook_url = site + "/v1/webhooks/stripe"
    page = await browser.new_page()
    await page.goto(site + "/")
    await assert_accessible(page)
    clicks = 0

    await page.locator(ALT_MED).get_by_role("link", name="Initial visit, 20 min").click()
    clicks += 1
    await page.wait_for_url(re.compile(r"/book\?"))
    slot = page.locator("form.week button[name=start]").first
    start = datetime.fromisoformat(str(await slot.get_attribute("value")))
    await slot.click()
    clicks += 1
    await page.wait_for_url(re.compile(r"/book/hold/"))
    payment = page.get_by_role("group", name=re.compile("Payment"))
    for choice in ("Pay now by card", "Pay at the clinic"):
        assert await payment.get_by_label(choice).count() == 1
    assert await payment.get_by_label("Pay now with PayPal").count() == 0  # not set up here
    await assert_accessible(page)

    await page.fill("#f-first_name", "Nora")
    await page.fill("#f-last_name", "Lind")
    await page.fill("#f-email", "nora.lind@example.com")
    await payment.get_by_label("Pay now by card").check()
    await page.get_by_role("button", name="Book this visit").click()
    clicks += 1
    await page.wait_for_url(re.compile(r"/book/pay/"))
    await page.get_by_role("heading", name="Pay by card").wait_for()
    [(booking_id, status)] = await _booking_at(container, start)
    assert status == "confirmed"
    card = page.frame_locator(CARD)
    await card.get_by_label("Card number").wait_for()
    await assert_accessible(page)

    # A declined card: said beside the field; nothing is paid; the patient tries again.
    await card.get_by_label("Card number").fill("4000 0000 0000 0002")
    await page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    await page.get_by_text("Your card was declined.").wait_for()
    await assert_accessible(page)
    assert await _orders_of(container, booking_id) == [("pending", "stripe")]

    await card.get_by_label("Card number").fill("4242 4242 4242 4242")
    await card.get_by_label("MM / YY").fill("12 / 34")
    await card.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    clicks += 1
    await page.wait_for_url(re.compile(r"/book/done/"))
    assert await page.get_by_role("heading", level=1).inner_text() == "You are booked"
    confirmed = await page.locator(".confirmed").inner_text()
    assert "Paid: $119.00 by card" in confirmed, confirmed
    await assert_accessible(page)
    assert clicks <= 4

    assert stripe_server.webhooks_sent == [200]
    assert await _orders_of(container, booking_id) == [("paid", "stripe")]
    [email, *_] = await smtp.mail("nora.lind@example.com", "is booked")
    assert str(start.astimezone(container.catalog.clinic.tz).day) in email
    [receipt, *_] = await smtp.mail("nora.lind@example.com", "Your receipt")
    assert "119.00" in receipt


async def test_the_card_page_alone_lets_stripe_in_and_reloading_it_pays_the_same_order(
    site: str, browser: Browser, container: Container, stripe_server: FakeStripe
) -> None:
    page = await browser.new_page()
    await page.goto(site + "/book?service=alternative_medicine&visit_type=initial&duration=20")
    await page.locator("form.week button[name=start]").first.click()
    await page.wait_for_url(re.compile(r"/book/hold/"))
    details_csp = (await page.request.get(page.url)).headers["content-security-policy"]
    assert stripe_server.url not in details_csp
    await page.fill("#f-first_name", "Ola")
    await page.fill("#f-last_name", "Berg")
    await page.fill("#f-email", "ola.berg@example.com")
    await page.get_by_label("Pay now by card").check()
    await page.get_by_role("button", name="Book this visit").click()
    await page.wait_for_url(re.compile(r"/book/pay/"))
    again = await page.request.get(page.url)
    csp = again.headers["content-security-policy"]
    assert f"script-src 'self' {stripe_server.url}" in csp
    assert f"frame-src {stripe_server.url}" in csp
    assert len(stripe_server.intents) == 1  # the reload answered the same PaymentIntent
    [intent] = stripe_server.intents.values()
    assert intent["client_secret"] in await again.text()
