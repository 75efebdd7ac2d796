"""`GET /v1/practitioners/{key}/calendar.ics?token=…` over a real database: the practitioner's
own bookings and nothing about their patients (a canary patient's name, email and phone are
nowhere in it), a cancelled one as STATUS:CANCELLED until it ages out, one identical 404 for
every wrong address, the anonymous rate limit, and no token in any log line.

The suite's clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar

from clinicflow.bootstrap import Container, build
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import ALT, TIGHT, app_over, assert_problem, booking
from support.app import serving
from support.loopback_tls import loopback_tls

FIRST, LAST = "Zebulon", "Canarywick"
EMAIL = "zebulon.canarywick@example.org"
PHONE = "+15125550199"
CANARY = (FIRST, LAST, EMAIL, "canarywick", "5125550199", "555-0199")
CANARY_PATIENT = {"first_name": FIRST, "last_name": LAST, "email": EMAIL, "phone": PHONE}
WED = "2026-11-25T{}:00-06:00"


async def issued(container: Container, practitioner: str = "doctor1") -> str:
    """The feed's path and query, as the operator's command would print it (less the host)."""
    url = urlsplit((await container.calendars.practitioner_feeds.issue(practitioner)).url)
    return f"{url.path}?{url.query}"


async def made(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    answer = await client.post("/v1/bookings", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def events(answer: httpx.Response) -> dict[str, tuple[str, str]]:
    return {
        str(e["UID"]).removesuffix("@clinicflow"): (str(e["STATUS"]), str(e["SUMMARY"]))
        for e in Calendar.from_ical(answer.content).walk("VEVENT")
    }


@pytest.mark.both_databases  # the feed's read of booking's rows, the token's upsert
async def test_the_feed_lists_the_practitioners_bookings_and_nothing_about_patients(
    client: httpx.AsyncClient,
    container: Container,
    front_desk: dict[str, str],
    clock: FixedClock,
) -> None:
    kept = await made(client, booking(WED.format("10:00"), patient=CANARY_PATIENT))
    dropped = await made(client, booking(WED.format("11:00"), n=2))
    other = await made(client, booking(WED.format("10:00"), n=3, practitioner="doctor2"))
    hold = {**ALT, "start": WED.format("13:00"), "practitioner": "doctor1"}
    assert (await client.post("/v1/holds", json=hold)).status_code == 201  # not a booking yet
    cancelled = await client.post(f"/v1/bookings/{dropped}/cancel", headers=front_desk)
    assert cancelled.status_code == 200, cancelled.text
    feed = await issued(container)

    answer = await client.get(feed)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.headers["cache-control"] == "private, max-age=300"
    assert events(answer) == {
        kept: ("CONFIRMED", "Booked: Alternative medicine"),
        dropped: ("CANCELLED", "Booked: Alternative medicine"),
    }
    assert other not in answer.text
    body = answer.text.lower()
    assert [c for c in CANARY if c.lower() in body] == []
    assert "pat2" not in body  # the cancelled visit's patient either

    clock.advance(timedelta(days=15))  # the cancellation is older than 14 days
    assert events(await client.get(feed)) == {kept: ("CONFIRMED", "Booked: Alternative medicine")}
    clock.advance(timedelta(days=31))  # the visit is more than 30 days past
    assert events(await client.get(feed)) == {}


@pytest.mark.both_databases  # rotating is an upsert over the practitioner's row
async def test_every_wrong_address_answers_the_same_404(
    client: httpx.AsyncClient, container: Container
) -> None:
    await made(client, booking(WED.format("10:00")))
    first = await issued(container)
    second = await issued(container)  # rotated: the first stops working
    path, token = second.split("?token=")
    other = (await issued(container, "doctor2")).split("?token=")[1]

    assert (await client.get(second)).status_code == 200
    answers = [
        await client.get(first),
        await client.get(path),  # no token: 404 too, not a validation error
        await client.get(f"{path}?token="),
        await client.get(f"{path}?token={token[::-1]}"),
        await client.get(f"{path}?token={other}"),  # another practitioner's token
    ]
    assert await container.calendars.practitioner_feeds.revoke("doctor1")
    answers.append(await client.get(second))  # revoked
    unknown = await client.get(f"/v1/practitioners/nobody/calendar.ics?token={token}")

    bodies = [assert_problem(a, 404, "calendar_feed_not_found") for a in answers]
    assert all(b == bodies[0] for b in bodies), bodies
    assert {a.headers["cache-control"] for a in answers} == {"no-store"}  # the edge's default
    # An unknown practitioner: the same answer, but for the path it names.
    stranger = assert_problem(unknown, 404, "calendar_feed_not_found")
    assert {**stranger, "instance": path} == bodies[0]
    assert token not in unknown.text


@pytest.fixture
async def tight(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    built = build(settings.model_copy(update={"rate_limits": TIGHT}), clock=clock)
    yield built
    await built.aclose()


async def test_the_feed_is_limited_like_other_anonymous_reads(tight: Container) -> None:
    feed = await issued(tight)
    async with app_over(tight) as http:
        seen = [await http.get(feed) for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert seen[0].headers["ratelimit-limit"] == "3"  # the anonymous tier's reads
    assert seen[-1].json()["code"] == "rate_limited"


async def test_no_log_line_carries_the_token(container: Container, log_stream: io.StringIO) -> None:
    feed = await issued(container)
    token = feed.split("?token=")[1]
    options = {"log_config": None, "access_log": False, "log_level": "info"}
    async with (
        serving(container, **options) as base,
        httpx.AsyncClient(verify=loopback_tls(), base_url=base) as http,
    ):
        assert (await http.get(feed)).status_code == 200
        assert (await http.get(feed[:-2])).status_code == 404
    text = log_stream.getvalue()
    assert "calendar_feed_token_issued" in text  # the issue was logged ...
    assert "/v1/practitioners/{key}/calendar.ics" in text  # ... and the requests
    assert token not in text
    assert token[:-2] not in text
