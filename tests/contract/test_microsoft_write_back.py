"""Scenario: 100 bookings written back to Microsoft 365 through the bus's calendar subscriber,
each event delivered at least once (here: twice), some first answered 429 (Retry-After) or
503, some created but answered 504 (the answer lost, the retry not finding the event yet),
all at once across three mailboxes. Exactly 100 events end up in the fake Graph calendars,
none duplicated, and no request was throttled for MailboxConcurrency."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from clinicflow.infra.bus import Envelope
from clinicflow.integrations.subscribers import CalendarSubscriber
from clinicflow.shared.clock import FixedClock
from support.fake_graph import FakeGraph
from support.fake_graph_calendar import parse_time
from support.graph_servers import MAILBOXES, Sleeps, calendar_on

START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PRACTITIONERS = list(MAILBOXES)


def booking_event(n: int, kind: str, *, moved: bool = False) -> Envelope:
    start = START + timedelta(days=n % 20, minutes=30 * (n % 16)) + timedelta(hours=3 * moved)
    return Envelope(
        event_id=f"ev_{n}_{kind}_{moved}",
        type=f"booking.{kind}",
        version=1,
        occurred_at=START,
        aggregate_type="booking",
        aggregate_id=f"bk_{n:03d}",
        payload={
            "booking_id": f"bk_{n:03d}",
            "service": "acupuncture",
            "visit_type": "initial",
            "practitioner": PRACTITIONERS[n % len(PRACTITIONERS)],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "patient_id": f"pat_{n}",
        },
    )


async def deliver(subscriber: CalendarSubscriber, event: Envelope) -> int:
    """As the bus does: handle, and on an error try again later. Returns the attempts."""
    for attempt in range(1, 20):
        try:
            await subscriber.handle(event)
        except Exception:
            await asyncio.sleep(0.01)  # the bus's backoff, shortened
            continue
        return attempt
    raise AssertionError(f"{event.event_id} never went through")


async def test_100_retried_write_backs_make_exactly_100_events(
    graph_server: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    fake = graph_server
    subscriber = CalendarSubscriber(calendar_on(fake, http, clock, sleeps))
    rng = random.Random(17)
    fake.latency = 0.005
    fake.retry_after = "1"
    fake.answers = [rng.choice([429, 503, 500]) for _ in range(40)]
    fake.lose_creates = 10
    # Every booking's creation delivered twice, one in ten rescheduled after it.
    created = [booking_event(n, "created") for n in range(100)]
    moved = [booking_event(n, "rescheduled", moved=True) for n in range(0, 100, 10)]

    async def one_booking(n: int) -> int:
        attempts = await deliver(subscriber, created[n])
        attempts += await deliver(subscriber, created[n])
        if n % 10 == 0:
            attempts += await deliver(subscriber, moved[n // 10])
        return attempts

    attempts = await asyncio.gather(*(one_booking(n) for n in range(100)))

    assert sum(attempts) > 210  # some deliveries really were retried
    assert 1.0 in sleeps.asked  # and some waited as Graph said
    events = [e for mailbox in MAILBOXES.values() for e in fake.events(mailbox)]
    assert len(events) == 100
    assert Counter(e["transactionId"] for e in events) == {f"bk_{n:03d}": 1 for n in range(100)}
    assert fake.throttled == 0  # never more than 4 in flight on a mailbox
    by_booking = {e["transactionId"]: e for e in events}
    for event in moved:
        shown = by_booking[event.aggregate_id]
        assert parse_time(shown["start"]) == datetime.fromisoformat(event.payload["start"])
