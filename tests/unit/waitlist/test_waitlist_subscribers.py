"""The waitlist's bus subscribers on in-memory units of work: a cancelled visit's slot is
offered once per event (a bare hold let go, or the flag off, offers nothing); a payment
converts once per event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clinicflow.infra.bus import Envelope
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.subscribers import FreedSlots
from support.fake_waitlist import FRONT_DESK, FakeWaitlist, person

WED_10 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def cancelled(event_id: str, clock: FixedClock, **over: Any) -> Envelope:
    payload = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20,
               "start": WED_10.isoformat(), "practitioner": "doctor1",
               "patient_id": "patient-1"} | over  # fmt: skip
    return Envelope(event_id, "booking.cancelled", 1, clock.now(), "booking", "b-1", payload)


def subscriber(fake: FakeWaitlist, name: str) -> Any:
    return next(s for s in fake.waitlist.subscribers if s.name == name)


async def test_a_cancelled_visit_is_offered_once_however_often_it_is_delivered(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1, "alternative_medicine"))
    freed = subscriber(fake, "waitlist_offers")

    await freed.handle(cancelled("00000000-0000-4000-8000-000000000001", clock))
    await freed.handle(cancelled("00000000-0000-4000-8000-000000000001", clock))

    assert [o.entry_id for o in fake.state.offers.values()] == [made.id]
    assert len(fake.state.holds) == 1
    assert ("waitlist_offers", "00000000-0000-4000-8000-000000000001") in fake.state.inbox


async def test_a_bare_hold_let_go_or_the_flag_off_offers_nothing(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    await fake.waitlist.entries.join(ANONYMOUS, person(1, "alternative_medicine"))
    freed = subscriber(fake, "waitlist_offers")
    switched_off = FreedSlots(offers=fake.waitlist.offers, uow=fake.uow, clock=clock, enabled=_off)

    await freed.handle(cancelled("e-1", clock, patient_id=None))
    await switched_off.handle(cancelled("e-2", clock))

    assert fake.state.offers == {}
    assert fake.state.holds == {}
    assert fake.state.inbox == set()


async def _off() -> bool:
    return False


async def test_a_payment_converts_its_entry_once(fake: FakeWaitlist, clock: FixedClock) -> None:
    from clinicflow.waitlist.domain.slots import ClaimAsk

    made = await fake.waitlist.entries.join(ANONYMOUS, person(1, "alternative_medicine"))
    _, booked = await fake.waitlist.conversions.convert(
        FRONT_DESK, made.id, ClaimAsk(WED_10, 20, "initial", "doctor1")
    )
    paid = Envelope("p-1", "payment.succeeded", 1, clock.now(), "payment", "order-1",
                    {"order_id": "order-1", "booking_ids": [booked.id]})  # fmt: skip
    visits = subscriber(fake, "waitlist_conversions")

    await visits.handle(paid)
    await visits.handle(paid)

    assert fake.state.entries[made.id].status == "converted"
    assert len(fake.events("waitlist.paid")) == 1
