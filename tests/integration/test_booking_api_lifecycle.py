"""The booking API end to end over a real database: SQLite, and PostgreSQL when reachable for what
rests on the database. A visit's life cycle over HTTP: check-in and completion, no-show,
cancelling and rescheduling. The rules themselves are tested in
tests/unit/booking/test_booking_*.py, and every query behind them on both databases in
test_booking_repository.py.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.outbox import outbox
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem, booking
from support.booking_api import WED_1015, event_types


async def test_visit_goes_through_check_in_and_completion(
    client: httpx.AsyncClient,
    container: Container,
    integration: dict[str, str],
    clock: FixedClock,
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    assert made["actions"] == ["reschedule", "cancel", "check-in", "no-show"]
    clock.advance(timedelta(hours=24))  # the visit's morning: check-in is open (an API key,
    # not a session that would have lapsed meanwhile)
    checked = await client.post(f"/v1/bookings/{made['id']}/check-in", headers=integration)
    assert checked.json()["status"] == "checked_in"
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/cancel", headers=integration),
        409,
        "invalid_transition",
    )
    done = await client.post(f"/v1/bookings/{made['id']}/complete", headers=integration)
    assert done.json()["status"] == "completed"
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/check-in", headers=integration),
        409,
        "invalid_transition",
    )
    kinds = await event_types(container)
    assert kinds == ["booking.created", "booking.checked_in", "booking.completed"]


async def test_completing_an_unchecked_visit_is_an_invalid_transition(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/complete", headers=front_desk),
        409,
        "invalid_transition",
    )


async def test_no_show_only_after_the_visit_has_started(
    client: httpx.AsyncClient, clock: FixedClock, integration: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/no-show", headers=integration),
        409,
        "invalid_transition",
    )
    clock.advance(timedelta(days=1, hours=2))
    marked = await client.post(f"/v1/bookings/{made['id']}/no-show", headers=integration)
    assert marked.status_code == 200
    assert marked.json()["status"] == "no_show"


async def test_cancelling_frees_the_slot(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    cancelled = await client.post(
        f"/v1/bookings/{made['id']}/cancel",
        json={"reason": "feeling better"},
        headers=front_desk,
    )
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "feeling better"
    assert (await client.post("/v1/bookings", json=booking(n=2))).status_code == 201
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/cancel", headers=front_desk),
        409,
        "invalid_transition",
    )
    assert "booking.cancelled" in await event_types(container)


@pytest.mark.both_databases
async def test_rescheduling_moves_the_visit_and_frees_the_old_slot(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    moved = await client.post(
        f"/v1/bookings/{made['id']}/reschedule",
        json={"start": "2026-11-25T14:00:00-06:00"},
        headers=front_desk,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == "2026-11-25T14:00:00-06:00"
    assert moved.json()["practitioner"] == "doctor1"
    assert (await client.post("/v1/bookings", json=booking(n=2))).status_code == 201
    async with container.db.read() as conn:
        payload = (
            await conn.execute(
                select(outbox.c.payload).where(outbox.c.type == "booking.rescheduled")
            )
        ).scalar_one()
    assert payload["previous"]["start"] == "2026-11-25T16:00:00+00:00"


async def test_rescheduling_onto_a_taken_slot_or_a_cancelled_visit_is_refused(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    first = (await client.post("/v1/bookings", json=booking())).json()
    second = (
        await client.post("/v1/bookings", json=booking("2026-11-25T14:00:00-06:00", n=2))
    ).json()
    taken = await client.post(
        f"/v1/bookings/{second['id']}/reschedule", json={"start": WED_1015}, headers=front_desk
    )
    assert_problem(taken, 409, "slot_unavailable")
    await client.post(f"/v1/bookings/{first['id']}/cancel", headers=front_desk)
    assert_problem(
        await client.post(
            f"/v1/bookings/{first['id']}/reschedule", json={"start": WED_1015}, headers=front_desk
        ),
        409,
        "invalid_transition",
    )
