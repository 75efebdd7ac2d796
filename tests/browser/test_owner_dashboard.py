"""The owner's dashboard in chromium, on the demo clinic (loaded through the use cases by
`clinicflow.demo`): an admin sees the charts drawn by uPlot and the tables beside them, picks
the 90 days by keyboard, and downloads a CSV whose rows are the table's; an analyst sees no
patient's name; someone signed out is told who may see it and where to sign in. axe finds
nothing serious on any of these pages."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page

from clinicflow.bootstrap import Container
from clinicflow.demo import JOINS, PEOPLE, DemoLoaded, load_demo
from clinicflow.shared.clock import FixedClock
from support.app import admin_session, staff_session
from support.browser import SESSION_LOOP, assert_accessible, tab_to

pytestmark = SESSION_LOOP

# The demo's people (patients and people on a waitlist), by last name, and any email or
# phone number: none may show on the dashboard.
PERSONAL = re.compile(
    r"\b(" + "|".join([*(p.last_name for p in PEOPLE), *(j[2] for j in JOINS)]) + r")\b"
    r"|@example\.com|\+?1?512555"
)
ROWS = "t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim()))"


@pytest_asyncio.fixture(loop_scope="session")
async def demo(container: Container, clock: FixedClock) -> DemoLoaded:
    await staff_session(container, "frontdesk", "front_desk")  # the demo's desk does the visits
    return await load_demo(container, clock)


async def _signed_in(browser: Browser, site: str, headers: dict[str, str]) -> BrowserContext:
    """A browser whose staff session is the one `headers` carry, as the cf_session cookie
    the staff sign-in sets."""
    context = await browser.new_context(accept_downloads=True)
    token = headers["Authorization"].removeprefix("Bearer ")
    await context.add_cookies([{"name": "cf_session", "value": token, "url": site}])
    return context


async def _table(page: Page, key: str) -> list[list[str]]:
    rows: list[list[str]] = await page.locator(f"#table-{key}").evaluate(ROWS)
    return rows


async def test_an_admin_sees_charts_and_tables_and_downloads_a_table_as_csv(
    site: str, browser: Browser, container: Container, demo: DemoLoaded, tmp_path: Path
) -> None:
    context = await _signed_in(browser, site, await admin_session(container))
    page = await context.new_page()
    await page.goto(site + "/owner")

    assert await page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    await page.locator("[data-chart=chart-revenue] .uplot canvas").wait_for()
    await page.locator("[data-chart=chart-growth] .uplot canvas").wait_for()
    await assert_accessible(page)

    # The 90 days, chosen with the keyboard alone.
    await tab_to(page, "#days")
    await page.keyboard.press("ArrowDown")
    await tab_to(page, ".range button")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/owner\?days=90$"))
    await page.locator("[data-chart=chart-revenue] .uplot canvas").wait_for()
    await assert_accessible(page)

    by_service = await _table(page, "revenue-by-service")
    assert by_service[0] == ["Service", "Charged", "Refunded", "Adjusted", "Net"]
    assert by_service[-1] == [
        "All services",
        f"{demo.paid_cents / 100:.2f}",
        f"{demo.refunded_cents / 100:.2f}",
        "0.00",
        f"{demo.net_cents / 100:.2f}",
    ]
    sizes = {row[0]: int(row[1]) for row in (await _table(page, "waitlist-size"))[1:]}
    assert sizes == {
        "Counseling": demo.joined["counseling"],
        "Equine therapy": demo.joined["equine_therapy"],
    }

    link = page.locator("a[href^='/owner/revenue-by-day.csv']")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert download.suggested_filename.startswith("clinicflow-revenue-by-day-")
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == await _table(page, "revenue-by-day")
    await context.close()


async def test_an_analyst_sees_the_figures_and_no_patient_names(
    site: str, browser: Browser, container: Container, demo: DemoLoaded
) -> None:
    context = await _signed_in(browser, site, await staff_session(container, "numbers", "analyst"))
    page = await context.new_page()
    await page.goto(site + "/owner?days=90")
    await page.locator("[data-chart=chart-revenue] .uplot canvas").wait_for()

    text = await page.locator("body").inner_text()
    assert "Revenue by service" in text
    assert "Waitlist size by service" in text
    assert PERSONAL.search(text) is None
    assert PERSONAL.search(await page.content()) is None
    await assert_accessible(page)
    await context.close()


async def test_signed_out_the_dashboard_says_who_may_see_it_and_where_to_sign_in(
    site: str, browser: Browser, demo: DemoLoaded
) -> None:
    page = await browser.new_page()
    answer = await page.goto(site + "/owner")

    assert answer is not None
    assert answer.status == 200
    assert await page.locator("table").count() == 0
    await page.get_by_text("Revenue is shown to admins, billing staff and analysts.").wait_for()
    await page.get_by_role("link", name="Sign in to the staff console").click()
    await page.wait_for_url(re.compile(r"/staff"))
    await page.go_back()
    await assert_accessible(page)
    await page.close()
