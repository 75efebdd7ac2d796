"""The staff calendar shows what the practitioners' external calendars hold: each busy
stretch with its source (and nothing of the event beyond its times), and a practitioner whose
every calendar is past its budget is named as not offered. The feeds are `BoardFeed`s (our
port, in memory); the vendors' adapters are tested against their fake servers elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.calendar_feeds import BoardFeed
from support.staff_console import Staff, sign_in_over_http, staff

TODAY_11 = datetime.fromisoformat("2026-11-24T11:00:00-06:00")
CALENDAR = "/staff/calendar?view=day&date=2026-11-24"


@pytest.fixture
def outlook() -> BoardFeed:
    return BoardFeed("microsoft", ("doctor1",))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"calendar_staleness_minutes": 30})


@pytest.fixture
def calendar_feeds(outlook: BoardFeed) -> list[BoardFeed]:
    return [outlook]


@pytest.fixture
async def desk(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
        await sign_in_over_http(http, container, await staff(container, "desk", "front_desk"))
        yield http


async def test_the_day_shows_each_external_busy_stretch_with_its_source(
    container: Container, desk: httpx.AsyncClient, outlook: BoardFeed
) -> None:
    outlook.add("doctor1", "m1", TODAY_11, TODAY_11 + timedelta(minutes=45))
    await container.calendars.service.sync_all(full=True)

    page = await desk.get(CALENDAR)

    assert page.status_code == 200, page.text
    section = page.text[page.text.index('id="busy-title"') :]
    assert "11:00 AM–11:45 AM" in section
    assert "(microsoft)" in section
    assert "is not offered" not in section


async def test_a_practitioner_whose_calendars_are_stale_is_named_as_not_offered(
    container: Container, desk: httpx.AsyncClient, outlook: BoardFeed, clock: FixedClock
) -> None:
    await container.calendars.service.sync_all(full=True)
    outlook.down = True
    clock.advance(timedelta(minutes=31))
    await container.calendars.service.sync_all()
    await sign_in_over_http(desk, container, Staff("desk", "front_desk"))  # idle past the session

    page = await desk.get(CALENDAR)

    assert page.status_code == 200, page.text
    section = page.text[page.text.index('id="busy-title"') :]
    assert "is not offered to patients until one catches up" in section
    assert "Nothing busy elsewhere." in section


async def test_without_an_external_calendar_the_section_says_so(
    container: Container, desk: httpx.AsyncClient
) -> None:
    page = await desk.get("/staff/calendar?view=day&date=2026-11-24&practitioner=doctor2")

    section = page.text[page.text.index('id="busy-title"') :]
    assert "No external calendar is connected for this practitioner." in section
