"""A practitioner's ICS feed and its token, over the in-memory unit of work: the right token
opens the feed of that practitioner's visits (named from the catalog, within the window),
any other answers one 404; issuing rotates, revoking removes; the token is never stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar

from clinicflow.calendars.domain.feed import token_digest
from clinicflow.calendars.feeds.errors import FeedNotFound, UnknownPractitioner
from clinicflow.calendars.feeds.ports import FeedVisit
from clinicflow.calendars.feeds.service import PractitionerFeeds
from clinicflow.catalog import Catalog
from clinicflow.shared.clock import FixedClock
from support.fake_calendars import FeedRows, fake_feeds

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def visit(
    booking_id: str,
    days: float,
    *,
    service: str = "alternative_medicine",
    cancelled: bool = False,
    changed: datetime = NOW,
) -> FeedVisit:
    start = NOW + timedelta(days=days)
    return FeedVisit(booking_id, service, start, start + timedelta(minutes=20), cancelled, changed)


class World:
    def __init__(self, catalog: Catalog) -> None:
        self.clock = FixedClock(NOW)
        self.units, self.rows, self.ledger = fake_feeds(FeedRows())
        self.feeds = PractitionerFeeds(
            uow=self.units,
            catalog=catalog,
            clock=self.clock,
            public_url="https://clinic.example/",
            past_days=30,
            future_days=180,
            cancelled_days=14,
        )

    async def issue(self, practitioner: str = "doctor1") -> str:
        issued = await self.feeds.issue(practitioner)
        return parse_qs(urlsplit(issued.url).query)["token"][0]


@pytest.fixture
def world(clinic_catalog: Catalog) -> World:
    return World(clinic_catalog)


def events(text: bytes) -> list[tuple[str, str, str]]:
    return [
        (str(e["UID"]), str(e["SUMMARY"]), str(e["STATUS"]))
        for e in Calendar.from_ical(text).walk("VEVENT")
    ]


async def test_the_token_opens_the_practitioners_feed_named_from_the_catalog(
    world: World,
) -> None:
    world.rows.visits["doctor1"] = [
        visit("b-2", 2, service="gaps_coaching"),
        visit("b-4", 4, service="retired"),  # no longer in the catalog: its key
        visit("b-1", 1),
        visit("b-3", 3, cancelled=True, changed=NOW - timedelta(days=2)),
    ]
    world.rows.visits["doctor2"] = [visit("other", 1)]
    token = await world.issue()

    text = await world.feeds.feed("doctor1", token)

    assert events(text) == [
        ("b-1@clinicflow", "Booked: Alternative medicine", "CONFIRMED"),
        ("b-2@clinicflow", "Booked: GAPS nutrition coaching", "CONFIRMED"),
        ("b-3@clinicflow", "Booked: Alternative medicine", "CANCELLED"),
        ("b-4@clinicflow", "Booked: retired", "CONFIRMED"),
    ]
    calendar = Calendar.from_ical(text)
    assert str(calendar["X-WR-CALNAME"]) == "clinicflow: Dr. Elena Marsh"
    assert str(calendar["X-WR-TIMEZONE"]) == "America/Chicago"
    # The window asked for: 30 days back, 180 ahead, cancellations of the last 14 days.
    assert world.rows.asked == [
        ("doctor1", NOW - timedelta(days=30), NOW + timedelta(days=180), NOW - timedelta(days=14))
    ]


async def test_a_cancellation_older_than_the_window_drops_out(world: World) -> None:
    world.rows.visits["doctor1"] = [
        visit("recent", 1, cancelled=True, changed=NOW - timedelta(days=13)),
        visit("old", 2, cancelled=True, changed=NOW - timedelta(days=15)),
    ]
    token = await world.issue()

    assert [uid for uid, _, _ in events(await world.feeds.feed("doctor1", token))] == [
        "recent@clinicflow"
    ]


async def test_every_wrong_address_gets_the_same_refusal(world: World) -> None:
    token = await world.issue("doctor1")
    other = await world.issue("doctor2")
    refusals = []
    for practitioner, given in [
        ("doctor1", None),  # no token
        ("doctor1", ""),
        ("doctor1", token[:-1] + ("A" if token[-1] != "A" else "B")),
        ("doctor1", other),  # another practitioner's token
        ("nurse", token),  # a practitioner with no feed
        ("nobody", token),  # no such practitioner
    ]:
        with pytest.raises(FeedNotFound) as refused:
            await world.feeds.feed(practitioner, given)
        refusals.append((refused.value.code, refused.value.status, refused.value.detail))

    assert len(set(refusals)) == 1
    assert refusals[0][:2] == ("calendar_feed_not_found", 404)
    assert await world.feeds.feed("doctor1", token)  # the right one still works


async def test_issuing_again_rotates_and_revoking_removes(world: World) -> None:
    first = await world.issue()
    issued = await world.feeds.issue("doctor1")
    second = parse_qs(urlsplit(issued.url).query)["token"][0]

    assert issued.replaced
    assert (
        issued.url == f"https://clinic.example/v1/practitioners/doctor1/calendar.ics?token={second}"
    )
    with pytest.raises(FeedNotFound):
        await world.feeds.feed("doctor1", first)
    assert await world.feeds.feed("doctor1", second)

    assert await world.feeds.revoke("doctor1") is True
    with pytest.raises(FeedNotFound):
        await world.feeds.feed("doctor1", second)
    assert await world.feeds.revoke("doctor1") is False  # nothing left to revoke


async def test_only_the_tokens_digest_is_kept(world: World) -> None:
    issued = await world.feeds.issue("doctor1")
    token = parse_qs(urlsplit(issued.url).query)["token"][0]

    assert not issued.replaced
    assert len(token) >= 43  # 256 bits, URL-safe base64
    digest, created = world.rows.tokens["doctor1"]
    assert digest == token_digest(token)
    assert token not in digest
    assert created == NOW
    assert world.ledger.commits == 1


async def test_an_unknown_practitioner_gets_no_token(world: World) -> None:
    with pytest.raises(UnknownPractitioner, match="'nobody': no such practitioner"):
        await world.feeds.issue("nobody")
    with pytest.raises(UnknownPractitioner):
        await world.feeds.revoke("nobody")
    assert world.rows.tokens == {}
