"""The booking site in chromium: a new patient books in at most four steps, by mouse and by
keyboard alone; two browsers race for one slot; a DST week shows the right local times; axe
finds nothing serious on any page or state on the way."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.shared.clock import FixedClock
from support.browser import SESSION_LOOP, assert_accessible, tab_to
from support.fake_smtp import FakeSmtpRelay

pytestmark = SESSION_LOOP

ALT_MED = "section[aria-labelledby='svc-alternative_medicine']"
FIRST_SLOT = "form.week button[name=start]"


async def _bookings_at(container: Container, start: datetime) -> list[tuple[str, str | None]]:
    async with container.db.read() as conn:
        rows = await conn.execute(
            select(appointments.c.status, appointments.c.patient_id).where(
                appointments.c.start_at == start.astimezone(UTC)
            )
        )
        return [(r.status, r.patient_id) for r in rows]


async def _landing(page: Page, site: str) -> None:
    await page.goto(site + "/")
    await assert_accessible(page)


async def test_a_new_patient_books_an_initial_visit_in_four_steps_or_fewer(
    site: str, browser: Browser, container: Container, smtp: FakeSmtpRelay
) -> None:
    page = await browser.new_page()
    await _landing(page, site)
    clicks = 0

    await page.locator(ALT_MED).get_by_role("link", name="Initial visit, 20 min").click()
    clicks += 1
    await page.wait_for_url(re.compile(r"/book\?"))
    assert await page.get_by_role("heading", level=1).inner_text() == (
        "Alternative medicine: pick a time"
    )
    await assert_accessible(page)

    slot = page.locator(FIRST_SLOT).first
    start = datetime.fromisoformat(str(await slot.get_attribute("value")))
    await slot.click()
    clicks += 1
    await page.wait_for_url(re.compile(r"/book/hold/"))
    await assert_accessible(page)

    # Neither email nor phone: the message stands beside the form, in plain words.
    await page.fill("#f-first_name", "Nora")
    await page.fill("#f-last_name", "Lind")
    await page.get_by_role("button", name="Book this visit").click()
    await expect_text(page, "give an email or a phone number")
    await assert_accessible(page)

    await page.fill("#f-email", "nora.lind@example.com")
    await page.get_by_role("button", name="Book this visit").click()
    clicks += 1
    await page.wait_for_url(re.compile(r"/book/done/"))
    assert await page.get_by_role("heading", level=1).inner_text() == "You are booked"
    await assert_accessible(page)
    assert clicks <= 4

    booked = await _bookings_at(container, start)
    assert [status for status, _ in booked] == ["confirmed"]
    assert booked[0][1] is not None  # a patient record was made for Nora

    [email, *_] = await smtp.mail("nora.lind@example.com")
    local = start.astimezone(container.catalog.clinic.tz)
    assert str(local.day) in email

    href = await page.get_by_role("link", name="Add to calendar (.ics)").get_attribute("href")
    calendar = await page.request.get(site + str(href))
    assert calendar.status == 200
    assert calendar.headers["content-type"].startswith("text/calendar")
    text = await calendar.text()
    assert "BEGIN:VEVENT" in text
    assert start.astimezone(UTC).strftime("%Y%m%dT%H%M%S") in text.replace("Z", "")


async def test_the_core_path_works_without_javascript(
    site: str, browser: Browser, container: Container
) -> None:
    """Plain links and forms all the way: htmx and our script only enhance."""
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(site + "/")
    await page.locator(ALT_MED).get_by_role("link", name="Initial visit, 20 min").click()
    await page.wait_for_url(re.compile(r"/book\?"))
    await page.get_by_role("link", name=re.compile("Next week")).click()
    await page.wait_for_url(re.compile(r"week="))
    slot = page.locator(FIRST_SLOT).first
    start = datetime.fromisoformat(str(await slot.get_attribute("value")))
    await slot.click()
    await page.wait_for_url(re.compile(r"/book/hold/"))
    await page.fill("#f-first_name", "Ines")
    await page.fill("#f-last_name", "Noscript")
    await page.fill("#f-phone", "+1 512 555 0107")
    await page.get_by_role("button", name="Book this visit").click()
    await page.wait_for_url(re.compile(r"/book/done/"))
    assert [s for s, _ in await _bookings_at(container, start)] == ["confirmed"]
    await context.close()


async def expect_text(page: Page, text: str) -> None:
    await page.get_by_text(re.compile(re.escape(text), re.I)).first.wait_for()


async def test_the_same_booking_with_the_keyboard_only(
    site: str, browser: Browser, container: Container
) -> None:
    page = await browser.new_page()
    await _landing(page, site)
    link = f"{ALT_MED} a[href*='visit_type=initial'][href*='duration=20']"
    await tab_to(page, link)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/book\?"))

    await tab_to(page, FIRST_SLOT)
    start = datetime.fromisoformat(
        await page.evaluate("document.activeElement.value")  # the focused slot
    )
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/book/hold/"))

    await tab_to(page, "#f-first_name")
    await page.keyboard.type("Kai")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Moss")
    await page.keyboard.press("Tab")
    await page.keyboard.type("kai.moss@example.com")
    await tab_to(page, "button.primary")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/book/done/"))
    await assert_accessible(page)
    assert [s for s, _ in await _bookings_at(container, start)] == ["confirmed"]


async def test_two_browsers_racing_for_one_slot_one_books_the_other_is_offered_others(
    site: str, browser: Browser, container: Container
) -> None:
    pages = [await (await browser.new_context()).new_page() for _ in range(2)]
    # One practitioner: with "any", the second would simply get another one at that time.
    week = f"{site}/book?service=alternative_medicine&visit_type=initial&duration=20"
    week += "&practitioner=doctor1"
    for page in pages:
        await page.goto(week)
    value = await pages[0].locator(FIRST_SLOT).first.get_attribute("value")
    same = f"{FIRST_SLOT}[value='{value}']"
    await asyncio.gather(*(page.locator(same).click() for page in pages))
    for page in pages:
        await page.wait_for_load_state()

    held = [p for p in pages if "/book/hold/" in p.url]
    lost = [p for p in pages if "/book/hold/" not in p.url]
    assert len(held) == 1, [p.url for p in pages]
    assert len(lost) == 1
    loser = lost[0]
    await expect_text(loser, "That time was just taken")
    await assert_accessible(loser)
    nearest = loser.locator("form.nearest button[name=start]")
    assert await nearest.count() >= 1
    other = datetime.fromisoformat(str(await nearest.first.get_attribute("value")))
    assert other != datetime.fromisoformat(str(value))

    # Both finish: the winner its slot, the other one of the times offered.
    for page, name in ((held[0], "win"), (loser, "other")):
        if page is loser:
            await nearest.first.click()
            await page.wait_for_url(re.compile(r"/book/hold/"))
        await page.fill("#f-first_name", name.capitalize())
        await page.fill("#f-last_name", "Racer")
        await page.fill("#f-email", f"{name}@example.com")
        await page.get_by_role("button", name="Book this visit").click()
        await page.wait_for_url(re.compile(r"/book/done/"))
    assert [s for s, _ in await _bookings_at(container, datetime.fromisoformat(str(value)))] == [
        "confirmed"
    ]
    assert [s for s, _ in await _bookings_at(container, other)] == ["confirmed"]


# The clinic is in America/Chicago, which springs forward on Sunday 14 March 2027; Berlin
# does on 28 March. A Berlin viewer sees Friday's times 7 hours ahead and Monday's 6.
DST_NOW = datetime(2027, 3, 8, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DST_NOW)


@pytest.mark.parametrize(("zone", "friday_ahead", "monday_ahead"), [("Europe/Berlin", 7, 6)])
async def test_a_dst_week_shows_the_right_local_times_in_both_zones(
    site: str, browser: Browser, zone: str, friday_ahead: int, monday_ahead: int
) -> None:
    week = (
        f"{site}/book?service=alternative_medicine&visit_type=initial&duration=20&week=2027-03-12"
    )
    for viewer, ahead in ((zone, (friday_ahead, monday_ahead)), ("America/Chicago", None)):
        context = await browser.new_context(timezone_id=viewer)
        page = await context.new_page()
        await page.goto(week)
        # site.js (deferred, so run before the load goto waits for) has told the server the
        # viewer's zone, in a cookie: shown again, the page is in it.
        await page.goto(week)
        labels = {
            day: await page.locator(
                f"fieldset.day:has(legend:text-is('{day}')) button[name=start]"
            ).first.get_attribute("aria-label")
            for day in ("Fri 12 Mar", "Mon 15 Mar")
        }
        for (day, label), hours in zip(labels.items(), ahead or (None, None), strict=True):
            assert label is not None
            clinic_time, _, yours = label.partition(", ")[2].partition(" (")
            if hours is None:
                assert "your time" not in label, label
                continue
            shown = datetime.strptime(yours.removesuffix(" your time)"), "%I:%M %p")
            local = datetime.strptime(clinic_time, "%I:%M %p")
            assert (shown - local) % timedelta(days=1) == timedelta(hours=hours), (day, label)
        await assert_accessible(page)
        await context.close()
