"""The owner's demand forecast in chromium, on nine weeks of visits booked through the real
use cases and moved into the lake (support/demand_history.py), with every alternative-medicine
practitioner away the week of 14 December: the owner (an admin) follows the dashboard's link,
sees the chart drawn by the vendored uPlot beside the table, reads the week over capacity in
words, downloads the table's CSV, and axe finds nothing serious; with script off, the same
table and words are there."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from clinicflow.bootstrap import Container
from clinicflow.catalog import Catalog
from clinicflow.shared.clock import FixedClock
from support.app import admin_session
from support.browser import SESSION_LOOP, assert_accessible
from support.demand_history import away_week, plant_demand

pytestmark = SESSION_LOOP

OVER = "Over capacity: Alternative medicine, week of Monday 14 December 2026"


@pytest.fixture
def clinic_catalog(clinic_catalog: Catalog) -> Catalog:
    return away_week(clinic_catalog)


@pytest_asyncio.fixture(loop_scope="session")
async def owner(container: Container, clock: FixedClock) -> str:
    """Nine weeks in the lake; the owner's (an admin's) session token, before the site serves."""
    await plant_demand(container, clock)
    opened = await admin_session(container, "owner")
    return opened["Authorization"].removeprefix("Bearer ")


async def test_the_owner_sees_the_forecast_chart_the_week_over_capacity_and_its_csv(
    owner: str, site: str, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(accept_downloads=True)
    await context.add_cookies([{"name": "cf_session", "value": owner, "url": site}])
    page = await context.new_page()
    await page.goto(site + "/owner")
    await page.get_by_role("link", name="Demand forecast").click()
    await page.wait_for_url(site + "/owner/forecast")
    assert await page.get_by_role("heading", level=1).inner_text() == "Demand forecast"

    await page.locator("[data-chart=chart-demand] .uplot canvas").wait_for()
    legend = await page.locator("[data-chart=chart-demand] .u-legend").inner_text()
    assert "Alternative medicine: hours offered" in legend
    said = await page.locator("#over-capacity").inner_text()
    assert OVER in " ".join(said.split())
    row = page.locator("#table-demand-forecast tr", has_text="2026-12-14")
    assert "Over capacity" in await row.inner_text()
    await assert_accessible(page)

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download as CSV").click()
    download = await downloading.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "Week of"
    assert next(r for r in rows if r[0] == "2026-12-14")[-1].startswith("Over capacity")
    await context.close()


async def test_without_script_the_table_and_the_words_are_all_there(
    owner: str, site: str, browser: Browser
) -> None:
    context = await browser.new_context(java_script_enabled=False)
    await context.add_cookies([{"name": "cf_session", "value": owner, "url": site}])
    page = await context.new_page()
    await page.goto(site + "/owner/forecast")
    assert await page.locator("[data-chart=chart-demand] canvas").count() == 0  # not drawn
    assert OVER in " ".join((await page.locator("#over-capacity").inner_text()).split())
    assert await page.locator("#table-demand-forecast tbody tr").count() == 8
    await context.close()
