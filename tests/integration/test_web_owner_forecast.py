"""The owner's demand forecast page (`/owner/forecast`) over HTTP, on nine weeks of visits
booked through the real use cases and moved into the lake (support/demand_history.py), with
every alternative-medicine practitioner away the week of 14 December: that week, and only
that one, is over capacity, said in words in the list and the table; the chart's data block
and the table hold the same weeks; the CSV holds the table's rows; no patient shows; only
analysts and admins see it; an empty lake says there is no forecast yet."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.catalog import Catalog
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSP
from support.app import admin_session, staff_session
from support.demand_history import away_week, plant_demand
from support.pages import INLINE, cookie, tables_of

PERSONAL = re.compile(r"Demand\d|Planted|@example\.com")
ALT = "Alternative medicine"
WEEKS = [f"2026-{m}" for m in ("11-30", "12-07", "12-14", "12-21", "12-28")] + [
    "2027-01-04",
    "2027-01-11",
    "2027-01-18",
]


@pytest.fixture
def clinic_catalog(clinic_catalog: Catalog) -> Catalog:
    return away_week(clinic_catalog)


async def test_the_week_the_practitioners_are_away_is_flagged_in_words_table_chart_and_csv(
    container: Container, clock: FixedClock, client: httpx.AsyncClient
) -> None:
    assert await plant_demand(container, clock) == 90
    analyst = cookie(await staff_session(container, "owner", "analyst"))
    page = await client.get("/owner/forecast", headers=analyst)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP

    table = tables_of(page.text)["demand-forecast"]
    assert table[0] == [
        "Week of", "Service", "Visits (80% range)", "Forecast hours", "Hours offered", "Capacity"
    ]  # fmt: skip
    rows = table[1:]
    assert [r[0] for r in rows] == WEEKS
    assert {r[1] for r in rows} == {ALT}
    for week, _, visits, demand, offered, said in rows:
        mean = float(visits.split()[0])
        assert 8 <= mean <= 12, (week, visits)  # two visits a weekday, as planted
        assert float(demand) == pytest.approx(mean * 20 / 60, abs=0.06)  # 20-minute visits
        if week == "2026-12-14":
            assert offered == "0.0"
            assert said == f"Over capacity: {demand} hours short"
        else:
            assert float(offered) > float(demand)
            assert said == "Within capacity"
    over = re.search(r'<ul id="over-capacity">(.*?)</ul>', page.text, re.S)
    assert over is not None
    items = re.findall(r"<li>(.*?)</li>", over.group(1), re.S)
    assert len(items) == 1
    assert "Alternative medicine, week of Monday 14 December 2026" in items[0]
    assert '<tr class="over">' in page.text  # marked too, but the words above say it

    assert 'data-chart="chart-demand"' in page.text
    block = re.search(
        r'<script type="application/json" id="chart-demand">(.*?)</script>', page.text, re.S
    )
    assert block is not None
    assert '"Alternative medicine: hours offered"' in block.group(1)
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert all('src="/static/' in s or 'type="application/json"' in s for s in scripts)
    for inline in INLINE[1:]:
        assert not inline.search(page.text), inline.pattern
    assert PERSONAL.search(page.text) is None

    got = await client.get("/owner/forecast/demand.csv", headers=analyst)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(got.text))) == table
    assert PERSONAL.search(got.text) is None

    admin = cookie(await admin_session(container))
    assert "Over capacity" in (await client.get("/owner/forecast", headers=admin)).text


async def test_only_analysts_and_admins_see_the_forecast(
    container: Container, client: httpx.AsyncClient
) -> None:
    desk = cookie(await staff_session(container, "desk", "front_desk"))
    for headers in (desk, {}):
        page = await client.get("/owner/forecast", headers=headers)
        assert page.status_code == 200
        assert "demand forecast (the next 8 weeks per service, beside capacity)" in page.text
        assert "demand-forecast" not in page.text
        assert (await client.get("/owner/forecast/demand.csv", headers=headers)).status_code == 403


async def test_an_empty_lake_says_there_is_no_forecast_yet(
    container: Container, client: httpx.AsyncClient
) -> None:
    analyst = cookie(await staff_session(container, "owner", "analyst"))
    page = await client.get("/owner/forecast", headers=analyst)
    assert page.status_code == 200
    assert "No forecast yet: the lake holds no visits yet." in page.text
    assert (await client.get("/owner/forecast/demand.csv", headers=analyst)).status_code == 409
