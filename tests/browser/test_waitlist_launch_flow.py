"""The counseling launch end to end in chromium, each step on its page: a visitor joins the
counseling waitlist on the booking site and sees their score and place; an admin signs in to
the staff console (password and authenticator code) and presses counseling's launch button
on the waitlist page; the invitation email arrives, its link opens the invitation page and
books a first visit, which the database holds; the person signs in by emailed link and their
area shows the waitlist entry booked. axe finds nothing serious on any page or state.

Counseling's launch date and visit types are TBD in config/clinic.yaml (its launch is refused
while they are): these tests run on `support.waitlist.clinic_yaml`, where they are decided.
The clock stands at Tuesday 2026-11-24 09:00 in the clinic.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from clinicflow.waitlist.tables import entries
from support.browser import SESSION_LOOP, assert_accessible
from support.fake_smtp import FakeSmtpRelay
from support.staff_console import launch, sign_in, staff
from support.waitlist import book_from_invitation, launchable

pytestmark = SESSION_LOOP

EMAIL = "wren.halloway@example.org"
COUNSELING = "section[aria-labelledby='svc-counseling']"
INVITATION = re.compile(r"https?://\S+/waitlist/invitations\?token=[A-Za-z0-9_-]+")
SIGN_IN = re.compile(r"https?://\S+/sign-in\?token=\S+")


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return launchable(settings, tmp_path)


def _on_site(site: str, link: str) -> str:
    """A link from an email, on the served site (emails name the configured public URL)."""
    return site + re.sub(r"^https?://[^/]+", "", link)


async def _join(page: Page, site: str) -> None:
    await page.goto(site + "/")
    await assert_accessible(page)
    card = page.locator(COUNSELING)
    await card.get_by_text("Join the Counseling waitlist").click()
    await assert_accessible(page)  # the form open
    await card.get_by_label("First name").fill("Wren")
    await card.get_by_label("Last name").fill("Halloway")
    await card.get_by_label("Email").fill(EMAIL)
    await card.get_by_label("ZIP code").fill("78701")
    await card.get_by_label("How keen are you").select_option("4")
    await card.get_by_role("button", name="Join the waitlist").click()
    await page.get_by_role("heading", name="You are on the Counseling waitlist").wait_for()
    assert "number 1 in line" in await page.locator(".standing").inner_text()
    assert "Priority score" in await page.locator(".standing").inner_text()
    score = await page.get_by_role("table").inner_text()
    for part in ("How keen you said you are", "Time on the list", "How near you live"):
        assert part in score
    await assert_accessible(page)


async def _launch(browser: Browser, site: str, container: Container) -> None:
    """An admin, in a browser of their own, launches counseling from the waitlist page."""
    console = await (await browser.new_context()).new_page()
    await console.goto(site + "/staff")
    await assert_accessible(console)  # the sign-in page
    admin = await staff(container, "ada", "admin")
    await sign_in(console, site, container, admin)
    await assert_accessible(console)
    await console.get_by_role("link", name="Waitlist").click()
    await console.get_by_role("link", name="Counseling").click()
    await console.wait_for_url(re.compile(r"service=counseling"))
    assert "Wren Halloway" in await console.locator("main table tbody").inner_text()
    await assert_accessible(console)
    await launch(console, "Counseling", "1 invitation")
    await console.context.close()


async def _book_from_invitation(page: Page, site: str, smtp: FakeSmtpRelay) -> datetime:
    [*_, mail] = await smtp.mail(EMAIL, having="/waitlist/invitations?token=")
    found = INVITATION.search(mail)
    assert found, mail
    return await book_from_invitation(page, _on_site(site, found.group(0)))


async def _sign_in_by_link(page: Page, site: str, smtp: FakeSmtpRelay) -> None:
    await page.goto(site + "/me")
    await page.get_by_text("Sign in to see your visits").wait_for()
    await assert_accessible(page)
    await page.get_by_label("Your email").fill(EMAIL)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    await assert_accessible(page)
    [*_, mail] = await smtp.mail(EMAIL, having="/sign-in?token=")
    found = SIGN_IN.search(mail)
    assert found
    await page.goto(_on_site(site, found.group(0)))
    await assert_accessible(page)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/me$"))


async def test_a_visitor_joins_an_admin_launches_the_invitation_books_and_me_shows_it(
    site: str, browser: Browser, container: Container, smtp: FakeSmtpRelay
) -> None:
    page = await browser.new_page()
    await _join(page, site)

    await _launch(browser, site, container)

    start = await _book_from_invitation(page, site, smtp)
    async with container.db.read() as conn:
        booked = (
            await conn.execute(
                select(appointments.c.id, appointments.c.status, appointments.c.service).where(
                    appointments.c.start_at == start.astimezone(UTC)
                )
            )
        ).all()
        assert [(b.status, b.service) for b in booked] == [("confirmed", "counseling")]
        entry = (await conn.execute(select(entries.c.status, entries.c.booking_id))).one()
        assert (entry.status, entry.booking_id) == ("booked", booked[0].id)

    await _sign_in_by_link(page, site, smtp)
    waitlists = page.locator("section[aria-labelledby='waitlists']")
    await waitlists.get_by_role("heading", name="Counseling: booked").wait_for()
    assert "You are booked for Counseling." in await waitlists.inner_text()
    assert "in line" not in await waitlists.inner_text()
    upcoming = await page.locator("section[aria-labelledby='upcoming']").inner_text()
    assert "Counseling" in upcoming
    await assert_accessible(page)
