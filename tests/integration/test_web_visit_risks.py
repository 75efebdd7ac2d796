"""The staff calendar's no-show risk over HTTP: each upcoming visit's cached risk ("High 42%")
with the model's reasons in words, for the roles that read risks; nothing before a model has
been trained; nothing (and no refusal audited) for billing staff, who see the calendar but not
risks. The risks are written through the forecasting context's own repository, as `clinicflow
ml predict` caches them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.forecasting.views import Reason
from clinicflow.gateway.app import create_app
from clinicflow.shared.clock import FixedClock
from support.risks import cache_no_show
from support.staff_console import TODAY_2PM, TODAY_3PM, audit_rows, booked, staff
from support.staff_console import sign_in_over_http as sign_in


@pytest.fixture
async def http(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as client:
        yield client


async def test_each_upcoming_visit_shows_its_risk_and_reasons_to_the_front_desk(
    http: httpx.AsyncClient, container: Container
) -> None:
    risky, _ = await booked(container, "Ada", "Risky", TODAY_2PM)
    calm, _ = await booked(container, "Bo", "Calm", TODAY_3PM)
    await sign_in(http, container, await staff(container, "desk", "front_desk"))

    before = await http.get("/staff/calendar")
    assert before.status_code == 200
    assert "No-show risk" not in before.text  # no model trained: nothing is shown

    reasons = (
        Reason("prior_no_shows", "1", 0.91),
        Reason("lead_days", "21.0417", 0.42),
        Reason("hour", "14", 0.08),
    )
    await cache_no_show(
        container, [(risky, TODAY_2PM, 0.4217, reasons), (calm, TODAY_3PM, 0.05, ())]
    )
    page = await http.get("/staff/calendar")
    assert page.status_code == 200
    text = page.text
    assert '<th scope="col">No-show risk</th>' in text
    row = text[text.index(f'id="b-{risky}"') :]
    row = row[: row.index("</tr>")]
    assert "High 42%" in row
    assert "1 earlier no-show; booked 21 days ahead; at 2 PM" in row
    other = text[text.index(f'id="b-{calm}"') :]
    assert "Low 5%" in other[: other.index("</tr>")]
    assert "Ada" in row  # the name is the page's (patients' read), never the model's


async def test_billing_sees_the_calendar_without_risks_and_no_refusal_is_audited(
    http: httpx.AsyncClient, container: Container
) -> None:
    visit, _ = await booked(container, "Ada", "Risky", TODAY_2PM)
    await cache_no_show(container, [(visit, TODAY_2PM, 0.6, (Reason("prior_no_shows", "2", 1.2),))])
    await sign_in(http, container, await staff(container, "bill", "billing"))
    page = await http.get("/staff/calendar")
    assert page.status_code == 200
    assert f'id="b-{visit}"' in page.text  # billing reads the calendar
    assert "No-show risk" not in page.text
    assert "60%" not in page.text
    assert await audit_rows(container, "read_no_show_risk") == []


async def test_a_visit_already_begun_shows_no_risk(
    http: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    begun, _ = await booked(container, "Ada", "Risky", TODAY_2PM)
    later, _ = await booked(container, "Bo", "Later", TODAY_3PM)
    await cache_no_show(container, [(begun, TODAY_2PM, 0.6, ()), (later, TODAY_3PM, 0.2, ())])
    clock.set(datetime.fromisoformat("2026-11-24T14:30:00-06:00"))
    await sign_in(http, container, await staff(container, "desk", "front_desk"))
    page = await http.get("/staff/calendar")
    assert page.status_code == 200
    assert "Medium 20%" in page.text
    assert "High 60%" not in page.text
