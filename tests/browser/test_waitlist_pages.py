"""The waitlist's pages in chromium: joining the counseling waitlist shows the score and the
place in line (and its field messages when a field is wrong); after counseling is launched
(the Waitlist launch use case, with an admin), the invitation email's link opens a page
that books a first visit. axe finds nothing serious on any page or state on the way."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor, Role
from support.browser import SESSION_LOOP, assert_accessible
from support.fake_smtp import FakeSmtpRelay
from support.waitlist import book_from_invitation, launchable

pytestmark = SESSION_LOOP

COUNSELING = "section[aria-labelledby='svc-counseling']"
ADMIN = Actor(kind="user", id="admin-browser", role=Role.ADMIN)
INVITATION_LINK = re.compile(r"https?://\S+/waitlist/invitations\?token=[A-Za-z0-9_-]+")


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return launchable(settings, tmp_path)


async def _invitation_link(smtp: FakeSmtpRelay, address: str) -> str:
    [*_, text] = await smtp.mail(address, having="/waitlist/invitations?token=")
    found = INVITATION_LINK.search(text)
    assert found is not None
    return found.group(0)


async def test_joining_shows_score_and_place_and_the_invitation_link_books(
    site: str, browser: Browser, container: Container, smtp: FakeSmtpRelay
) -> None:
    page = await browser.new_page()
    await page.goto(site + "/")
    card = page.locator(COUNSELING)
    await card.get_by_text("Join the Counseling waitlist").click()
    await assert_accessible(page)  # the form open

    # A wrong ZIP: the message stands beside the field, the rest is kept.
    await card.get_by_label("First name").fill("Wren")
    await card.get_by_label("Last name").fill("Halloway")
    await card.get_by_label("Email").fill("wren@example.org")
    await card.get_by_label("ZIP code").fill("787")
    await card.get_by_label("How keen are you").select_option("5")
    await card.get_by_role("button", name="Join the waitlist").click()
    zip_error = page.locator("#wl-counseling-zip-error")
    await zip_error.wait_for()
    assert "5-digit ZIP code" in await zip_error.inner_text()
    assert await card.get_by_label("First name").input_value() == "Wren"
    await assert_accessible(page)

    await card.get_by_label("ZIP code").fill("78701")
    await card.get_by_role("button", name="Join the waitlist").click()
    await page.get_by_role("heading", name="You are on the Counseling waitlist").wait_for()
    assert "number 1 in line" in await page.locator(".standing").inner_text()
    score = page.get_by_role("table")
    for part in ("How keen you said you are", "Time on the list", "How near you live"):
        assert part in await score.inner_text()
    await assert_accessible(page)

    # The private link shows the same standing.
    public = container.settings.public_url.rstrip("/")  # the emailed links' base, not the site's
    href = await page.get_by_role("link", name="Where I stand").get_attribute("href")
    await page.goto(str(href).replace(public, site))
    await page.wait_for_url(re.compile(r"/waitlist/mine\?token="))
    assert "number 1 in line" in await page.locator(".standing").inner_text()
    await assert_accessible(page)

    launched = await container.waitlist.launches.launch(ADMIN, "counseling")
    assert launched.wave is not None
    assert launched.wave.invited == 1

    link = await _invitation_link(smtp, "wren@example.org")
    start = await book_from_invitation(page, link.replace(public, site))

    async with container.db.read() as conn:
        rows = await conn.execute(
            select(appointments.c.status, appointments.c.service).where(
                appointments.c.start_at == start.astimezone(UTC)
            )
        )
        assert [(r.status, r.service) for r in rows] == [("confirmed", "counseling")]

    # The link books once: opened again, it says so in plain words.
    await page.goto(link.replace(public, site))
    await page.get_by_text("This invitation can no longer book").wait_for()
    await assert_accessible(page)
