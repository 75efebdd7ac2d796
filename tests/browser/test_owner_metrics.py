"""The owner dashboard's metrics page in chromium, on the month planted by
support/planted_month.py (through the real use cases, then moved into the lake): an analyst
picks the days with the date fields (a plain GET form), sees the utilization and revenue
charts drawn by uPlot beside their tables, downloads a table as the API's CSV, and axe finds
nothing serious."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from clinicflow.bootstrap import Container
from clinicflow.calendars.ports import BusyFeed
from clinicflow.shared.clock import FixedClock
from support.api import app_over
from support.app import staff_session
from support.browser import SESSION_LOOP, assert_accessible
from support.planted_month import outlook, plant

pytestmark = SESSION_LOOP


@pytest.fixture
def calendar_feeds() -> Sequence[BusyFeed]:
    return [outlook()]


@pytest_asyncio.fixture(loop_scope="session")
async def planted(container: Container, clock: FixedClock) -> dict[str, str]:
    """The month planted and in the lake; an analyst's session (before the site serves)."""
    async with app_over(container) as client:
        await plant(container, clock, client)
    assert await container.analytics.writer.sync() > 0
    return await staff_session(container, "numbers", "analyst")


async def test_an_analyst_sees_the_metrics_charts_and_downloads_a_csv(
    planted: dict[str, str], site: str, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(accept_downloads=True)
    token = planted["Authorization"].removeprefix("Bearer ")
    await context.add_cookies([{"name": "cf_session", "value": token, "url": site}])
    page = await context.new_page()
    await page.goto(site + "/owner/metrics")

    assert await page.get_by_role("heading", level=1).inner_text() == "Metrics"
    await page.get_by_label("First day").fill("2027-02-01")
    await page.get_by_label("Last day").fill("2027-02-28")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(re.compile(r"/owner/metrics\?from=2027-02-01&to=2027-02-28$"))

    await page.locator("[data-chart=chart-utilization] .uplot canvas").wait_for()
    await page.locator("[data-chart=chart-revenue-month] .uplot canvas").wait_for()
    utilization = page.locator("#table-utilization")
    await utilization.get_by_role("cell", name="72.0%").wait_for()
    await assert_accessible(page)

    async with page.expect_download() as downloading:
        await page.locator("a[href^='/v1/analytics/revenue?'][href*='month']").click()
    download = await downloading.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["service", "month", "gross_cents"]
    assert ["gaps_coaching", "2027-02", "78000", "5000", "73000", "4", "18250.0"] in rows
    await context.close()
