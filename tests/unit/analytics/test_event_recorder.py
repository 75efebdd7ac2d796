"""The analytics subscriber keeps every event as published, once, with when it was kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clinicflow.analytics.subscribers import EventRecorder
from clinicflow.infra.bus import ALL_EVENTS, Envelope
from clinicflow.shared.clock import FixedClock
from support.fake_analytics import fake_analytics

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


async def test_every_event_is_kept_as_published_and_a_redelivery_adds_nothing() -> None:
    uow, rows, ledger = fake_analytics()
    clock = FixedClock(NOW)
    recorder = EventRecorder(uow=uow, clock=clock)
    assert recorder.types == {ALL_EVENTS}
    payload = {"booking_id": "b-1", "service": "massage"}
    event = Envelope(
        "e-1", "booking.created", 2, NOW - timedelta(minutes=1), "booking", "b-1", payload
    )

    await recorder.handle(event)
    payload["service"] = "changed afterwards"  # the record is a copy
    clock.advance(timedelta(minutes=5))
    await recorder.handle(event)  # delivered again

    kept = rows["e-1"]
    assert (kept.type, kept.version, kept.aggregate_type, kept.aggregate_id) == (
        "booking.created",
        2,
        "booking",
        "b-1",
    )
    assert kept.occurred_at == NOW - timedelta(minutes=1)
    assert kept.payload == {"booking_id": "b-1", "service": "massage"}
    assert kept.recorded_at == NOW  # the first time, not the redelivery's
    assert len(rows) == 1
    assert ledger.commits == 2
    assert ledger.published == []  # it records; it publishes nothing


async def test_a_batch_is_kept_in_one_commit_and_a_redelivered_one_adds_nothing() -> None:
    uow, rows, ledger = fake_analytics()
    recorder = EventRecorder(uow=uow, clock=FixedClock(NOW))
    made = [
        Envelope(f"e-{n}", "booking.created", 2, NOW, "booking", f"b-{n}", {"n": n})
        for n in range(3)
    ]

    await recorder.handle(made[0])
    await recorder.handle_batch(made)

    assert sorted(rows) == ["e-0", "e-1", "e-2"]
    assert rows["e-2"].payload == {"n": 2}
    assert rows["e-2"].recorded_at == NOW
    assert ledger.commits == 2
