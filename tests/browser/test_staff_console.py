"""The staff console in chromium: the front desk signs in and checks a patient in from the day
calendar; a practitioner cannot open another practitioner's patient; an analyst sees no
patient's name anywhere; an admin launches a service from the waitlist page and the
invitations go out; axe finds nothing serious on any page or state on the way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.tables import refunds
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor, Role
from support.app import PASSWORD
from support.browser import SESSION_LOOP, assert_accessible
from support.fake_smtp import FakeSmtpRelay
from support.staff_console import (
    TODAY_2PM,
    TODAY_3PM,
    booked,
    launch,
    sign_in,
    staff,
    status_of,
)
from support.waitlist import launchable, person

pytestmark = SESSION_LOOP

NAMES = ("Ana", "Quill", "Ben", "Ortiz", "Wren", "Halloway")


async def test_the_front_desk_signs_in_and_checks_a_patient_in_from_the_day_calendar(
    site: str, browser: Browser, container: Container
) -> None:
    ana, _ = await booked(container, "Ana", "Quill", TODAY_2PM)
    desk = await staff(container, "desk", "front_desk")
    page = await browser.new_page()

    await page.goto(site + "/staff")
    assert await page.get_by_role("heading", level=1).inner_text() == "Staff sign-in"
    await assert_accessible(page)
    await page.fill("#f-username", desk.username)
    await page.fill("#f-password", "not the password")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_text("The username or password is wrong").wait_for()
    await assert_accessible(page)  # the error state

    await page.fill("#f-password", PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/staff/calendar"))
    assert "Tuesday 24 November 2026" in await page.get_by_role("heading", level=1).inner_text()
    await assert_accessible(page)

    row = page.locator(f"#b-{ana}")
    assert "Ana Quill" in await row.inner_text()
    await row.get_by_role("button", name="Check in Ana Quill at 2:00 PM").click()
    await page.wait_for_url(re.compile(rf"#b-{ana}$"))
    assert "checked in" in await page.locator(f"#b-{ana} .status").inner_text()
    assert await row.get_by_role("button", name=re.compile("^Complete")).count() == 1
    await assert_accessible(page)
    assert await status_of(container, ana) == "checked_in"

    # The week, and the next one: the same calendar, seven days at a time.
    await page.select_option("#c-view", "week")
    await page.get_by_role("button", name="Show", exact=True).click()
    await page.wait_for_url(re.compile(r"view=week"))
    assert await page.get_by_role("heading", level=2, name="Tuesday 24 November").count() == 1
    await assert_accessible(page)
    await page.get_by_role("link", name="Next week").click()
    await page.wait_for_url(re.compile(r"date=2026-11-30"))
    await page.get_by_text("Nothing booked.").first.wait_for()
    await assert_accessible(page)


async def test_a_practitioner_cannot_open_another_practitioners_patient(
    site: str, browser: Browser, container: Container
) -> None:
    _, ana = await booked(container, "Ana", "Quill", TODAY_2PM, "doctor1")
    _, ben = await booked(container, "Ben", "Ortiz", TODAY_3PM, "nurse")
    nurse = await staff(container, "grace", "practitioner", "nurse")
    page = await browser.new_page()
    await sign_in(page, site, container, nurse)
    assert "Grace Lindqvist" in await page.get_by_role("heading", level=1).inner_text()
    assert "Ana" not in await page.locator("main").inner_text()

    await page.get_by_role("link", name="Ben Ortiz").click()
    await page.wait_for_url(f"{site}/staff/patients/{ben}")
    assert await page.get_by_role("heading", level=1).inner_text() == "Ben Ortiz"
    await assert_accessible(page)

    answer = await page.goto(f"{site}/staff/patients/{ana}")
    assert answer is not None
    assert answer.status == 404
    assert await page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert "Ana" not in await page.locator("main").inner_text()
    await assert_accessible(page)


async def test_an_analyst_sees_no_patient_names_anywhere_in_the_console(
    site: str, browser: Browser, container: Container
) -> None:
    booking, ana = await booked(container, "Ana", "Quill", TODAY_2PM)
    await booked(container, "Ben", "Ortiz", TODAY_3PM, "nurse")
    page = await browser.new_page()
    joined = await page.request.post(site + "/v1/waitlist", data=person(1, "equine_therapy"))
    assert joined.status == 201
    analyst = await staff(container, "ann", "analyst")
    await sign_in(page, site, container, analyst)

    seen: set[str] = set()
    queue = [
        page.url.removeprefix(site),
        "/staff/calendar",
        "/staff/calendar?view=week",
        f"/staff/bookings/{booking}",
        "/staff/patients",
        f"/staff/patients/{ana}",
        "/staff/book",
        "/staff/flags",
        "/staff/waitlist?service=equine_therapy",
    ]
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        await page.goto(site + path)
        text = await page.locator("body").inner_text()
        html = await page.content()
        for name in NAMES:
            assert name not in text, (path, name)
            assert name not in html, (path, name)
        await assert_accessible(page)
        for href in await page.locator("main a[href^='/staff']").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        ):
            queue.append(str(href))
    assert "/staff/waitlist" in {p.split("?")[0] for p in seen}
    await page.goto(site + "/staff/waitlist")
    assert "Equine therapy" in await page.locator("main").inner_text()  # the counts, no names


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return launchable(settings, tmp_path)


async def _invitations(smtp: FakeSmtpRelay, addresses: set[str]) -> dict[str, str]:
    return {to: (await smtp.mail(to, having="invitations?token="))[-1] for to in addresses}


async def test_an_admin_launches_a_service_from_the_waitlist_page_and_the_invitations_go_out(
    site: str, browser: Browser, container: Container, smtp: FakeSmtpRelay
) -> None:
    page = await browser.new_page()
    for n, level in ((1, 2), (2, 5)):
        body = person(n, interest_level=level)
        assert (await page.request.post(site + "/v1/waitlist", data=body)).status == 201
    admin = await staff(container, "ada", "admin")
    await sign_in(page, site, container, admin)

    await page.get_by_role("link", name="Waitlist").click()
    await page.get_by_role("link", name="Counseling").click()
    await page.wait_for_url(re.compile(r"service=counseling"))
    rows = page.locator("main table tbody tr")
    assert "Wren2 Halloway" in await rows.nth(0).inner_text()  # the keener one first
    assert "Wren1 Halloway" in await rows.nth(1).inner_text()
    await assert_accessible(page)

    await launch(page, "Counseling", "2 invitations")

    mail = await _invitations(smtp, {"wren1@example.org", "wren2@example.org"})
    assert all("Counseling" in text for text in mail.values())
    assert container.catalog.services["counseling"].bookable


async def test_every_console_page_an_admin_reaches_passes_axe(
    site: str, browser: Browser, container: Container
) -> None:
    booking, ana = await booked(container, "Ana", "Quill", TODAY_2PM)
    desk = Actor(kind="user", id="desk-for-test", role=Role.FRONT_DESK)
    made, _ = await container.payments.checkout.create(
        desk, CheckoutRequest((booking,), method="in_clinic", tender="cash")
    )
    admin = await staff(container, "ada", "admin")
    page = await browser.new_page(viewport={"width": 360, "height": 740})  # a phone
    await sign_in(page, site, container, admin)
    await assert_accessible(page)

    # A visit, its payment, and a refund (the form's error state first).
    await page.locator(f"#b-{booking}").get_by_role("link", name=re.compile("Alternative")).click()
    await page.wait_for_url(f"{site}/staff/bookings/{booking}")
    await assert_accessible(page)
    await page.get_by_role("link", name=re.compile("The payment")).click()
    await page.wait_for_url(f"{site}/staff/payments/{made.order.id}")
    await assert_accessible(page)
    await page.fill("#f-amount", "12.345")
    await page.get_by_role("button", name="Refund").click()
    await page.locator("#f-reason-error").wait_for()
    assert await page.locator("#f-amount").get_attribute("aria-invalid") == "true"
    await assert_accessible(page)
    await page.fill("#f-amount", "20")
    await page.fill("#f-reason", "goodwill")
    await page.get_by_role("button", name="Refund").click()
    await page.get_by_role("cell", name="goodwill").wait_for()
    await assert_accessible(page)
    async with container.db.read() as conn:
        amounts = (await conn.execute(select(refunds.c.amount_cents))).scalars().all()
    assert list(amounts) == [2000]

    # Book for a patient on record: the search (nothing, then a record), the record, a time.
    await page.goto(site + "/staff/patients")
    await assert_accessible(page)
    await page.fill("#f-q", "not an email")
    await page.get_by_role("button", name="Search").click()
    await page.locator("#f-q-error").wait_for()
    await assert_accessible(page)
    await page.fill("#f-q", "nobody@example.com")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_text("No record has that email").wait_for()
    await assert_accessible(page)
    await page.fill("#f-q", "ana@example.com")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Ana Quill").click()
    await page.wait_for_url(f"{site}/staff/patients/{ana}")
    await assert_accessible(page)
    await page.get_by_role("link", name="Book a visit for Ana").click()
    await page.select_option("#b-visit", "alternative_medicine:followup:15")
    await page.get_by_role("button", name="Show open times").click()
    await page.locator("form.week button[name=start]").first.wait_for()
    await assert_accessible(page)
    await page.locator("form.week button[name=start]").first.click()
    await page.wait_for_url(re.compile(r"/staff/book/hold/"))
    await assert_accessible(page)
    await page.get_by_role("button", name="Book this visit").click()
    await page.wait_for_url(re.compile(r"/staff/bookings/"))
    assert "Ana Quill" in await page.locator("main").inner_text()

    # A new patient's details, with the error shown beside the form.
    await page.goto(site + "/staff/book?visit=gaps_coaching:initial:60")
    await page.locator("form.week button[name=start]").first.click()
    await page.wait_for_url(re.compile(r"/staff/book/hold/"))
    await page.fill("#f-first_name", "Cy")
    await page.get_by_role("button", name="Book this visit").click()
    await page.locator("#f-last_name-error").wait_for()
    await assert_accessible(page)

    # The waitlist: a service that cannot launch yet says why, and the refusal too.
    await page.goto(site + "/staff/waitlist?service=equine_therapy")
    await assert_accessible(page)
    await page.get_by_role("button", name="Launch Equine therapy").click()
    await page.locator("#launch-problem").wait_for()
    assert "cannot launch yet" in await page.locator("#launch-problem").inner_text()
    await assert_accessible(page)

    await page.goto(site + "/staff/flags")
    await assert_accessible(page)
    await page.locator("#on-paypal_backup").uncheck()
    await page.get_by_role("button", name="Save paypal backup").click()
    await page.wait_for_url(re.compile(r"#flag-paypal_backup"))
    assert not await page.locator("#on-paypal_backup").is_checked()
    await assert_accessible(page)

    answer = await page.goto(site + "/staff/bookings/no-such-visit")
    assert answer is not None
    assert answer.status == 404
    await assert_accessible(page)

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{site}/staff")
    assert await page.get_by_role("heading", level=1).inner_text() == "Staff sign-in"
