"""The staff calendar's no-show risk in chromium: the front desk signs in and reads each
upcoming visit's risk in words ("High 42%") with its reasons, in a column of its own; axe
finds nothing serious (the risk's colours included). The risks are cached through the
forecasting context's own repository (support/risks.py)."""

from __future__ import annotations

from playwright.async_api import Browser

from clinicflow.bootstrap import Container
from clinicflow.forecasting.views import Reason
from support.browser import SESSION_LOOP, assert_accessible
from support.risks import cache_no_show
from support.staff_console import TODAY_2PM, TODAY_3PM, booked, sign_in, staff

pytestmark = SESSION_LOOP


async def test_the_front_desk_reads_each_visits_no_show_risk_and_why(
    site: str, browser: Browser, container: Container
) -> None:
    risky, _ = await booked(container, "Ana", "Quill", TODAY_2PM)
    medium, _ = await booked(container, "Ben", "Ortiz", TODAY_3PM, "doctor2")
    why = (Reason("first_visit", "1", 0.7), Reason("lead_days", "12.5", 0.3))
    await cache_no_show(container, [(risky, TODAY_2PM, 0.42, why), (medium, TODAY_3PM, 0.18, ())])
    page = await browser.new_page()
    await sign_in(page, site, container, await staff(container, "desk", "front_desk"))

    header = page.get_by_role("columnheader", name="No-show risk")
    assert await header.count() >= 1
    row = page.locator(f"#b-{risky}")
    text = " ".join((await row.inner_text()).split())
    assert "High 42%" in text
    assert "a first visit; booked 12 days ahead" in text
    assert "Medium 18%" in await page.locator(f"#b-{medium}").inner_text()
    await assert_accessible(page)
    await page.close()
