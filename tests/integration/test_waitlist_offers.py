"""Freed-slot offers on a live service: a cancelled visit's slot is held and offered to the
best-ranked entry it suits; unclaimed, it passes to the next after the window; claimed, the
hold becomes the booking; two claims at once make one booking. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import SYSTEM
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.tables import entries, offers
from support.app import admin_session
from support.db import written
from support.waitlist import PHI_WORDS, all_waitlist_payloads, events, join, links_sent, person

# Waves, offers, conversions and statistics are counted, locked and ordered in SQL.
pytestmark = pytest.mark.both_databases

ALT = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20}
WED_10 = "2026-11-25T10:00:00-06:00"
OFFER_FIELDS = {
    "service",
    "service_name",
    "status",
    "expires_at",
    "visit_type",
    "duration",
    "practitioner",
    "start",
    "booking_id",
}


def alt(n: int, **over: Any) -> dict[str, Any]:
    return person(n, service="alternative_medicine", **over)


async def freed_slot(
    client: httpx.AsyncClient, container: Container, desk: dict[str, str], *, suited: int = 2
) -> dict[str, str]:
    """Pat books Wednesday 10:00 with doctor1; people join the cancellation list; Pat cancels
    and the event is delivered. Entry ids by name."""
    booked = await client.post(
        "/v1/bookings",
        json={**ALT, "start": WED_10, "practitioner": "doctor1",
              "patient": {"first_name": "Pat", "last_name": "Example", "email": "pat@example.com"}},
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    wed = [{"weekday": "wed", "start": "09:00", "end": "12:00"}]
    thu = [{"weekday": "thu", "start": "09:00", "end": "12:00"}]
    bodies = {
        # The keenest prefer someone else, or another day: the slot does not suit them.
        "other_doctor": alt(1, interest_level=5, preferred_practitioner="doctor2"),
        "thursdays": alt(2, interest_level=5, preferred_times=thu),
        "best": alt(3, interest_level=4),
        "next": alt(4, interest_level=3, preferred_times=wed),
    }
    ids = {name: (await join(client, body))["id"] for name, body in bodies.items()}
    if suited < 2:
        await client.delete(f"/v1/waitlist/{ids['next']}", headers=desk)
    cancel = await client.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=desk)
    assert cancel.status_code == 200, cancel.text
    await container.bus.run_once()
    return ids


@pytest.fixture
async def ids(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> dict[str, str]:
    """`freed_slot` (both later entries suited): entry ids by name, "best" offered the slot."""
    return await freed_slot(client, container, front_desk)


async def status_of(container: Container, entry_id: str) -> str:
    async with container.db.read() as conn:
        found = await conn.execute(select(entries.c.status).where(entries.c.id == entry_id))
        return str(found.scalar_one())


def offer_token(container: Container, n: int) -> str:
    return links_sent(container, "offers")[f"wren{n}@example.org"]


async def try_to_book_wed_10(client: httpx.AsyncClient, n: int = 9) -> httpx.Response:
    return await client.post(
        "/v1/bookings",
        json={**ALT, "start": WED_10, "practitioner": "doctor1",
              "patient": {"first_name": f"Other{n}", "last_name": "Person",
                          "email": f"other{n}@example.com"}},
    )  # fmt: skip


async def claim(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/waitlist/offers/claim", params={"token": token})


async def test_a_cancelled_slot_is_held_and_offered_to_the_best_suited_entry(
    client: httpx.AsyncClient, container: Container, ids: dict[str, str]
) -> None:
    assert await status_of(container, ids["best"]) == "offered"
    assert [await status_of(container, ids[k]) for k in ("other_doctor", "thursdays", "next")] == [
        "waiting"
    ] * 3
    made = await events(container, "waitlist.offer_made")
    assert [e["entry_id"] for e in made] == [ids["best"]]
    assert made[0]["start"].startswith("2026-11-25T16:00")  # 10:00 in Chicago
    assert made[0]["practitioner"] == "doctor1"
    # Held: nobody else can book it while the offer is open.
    taken = await try_to_book_wed_10(client)
    assert taken.status_code == 409
    view = await client.get("/v1/waitlist/offers", params={"token": offer_token(container, 3)})
    assert view.status_code == 200, view.text
    assert set(view.json()) == OFFER_FIELDS
    assert view.json()["status"] == "made"
    assert view.json()["start"] == WED_10
    assert not [w for w in PHI_WORDS if w in view.text]
    assert not [w for w in PHI_WORDS if w in await all_waitlist_payloads(container)]


async def test_an_unclaimed_offer_passes_to_the_next_and_a_claim_books_the_held_slot(
    client: httpx.AsyncClient, container: Container, clock: FixedClock, ids: dict[str, str]
) -> None:
    first_token = offer_token(container, 3)

    clock.advance(timedelta(minutes=29))
    assert await container.waitlist.offers.expire_due(clock.now()) == 0
    clock.advance(timedelta(minutes=2))
    assert await container.waitlist.offers.expire_due(clock.now()) == 1

    assert await status_of(container, ids["best"]) == "waiting"
    assert await status_of(container, ids["next"]) == "offered"
    assert [e["entry_id"] for e in await events(container, "waitlist.offer_expired")] == [
        ids["best"]
    ]
    assert (await claim(client, first_token)).status_code == 409
    assert (await try_to_book_wed_10(client)).status_code == 409  # still held, for "next"
    claimed = await claim(client, offer_token(container, 4))
    assert claimed.status_code == 201, claimed.text
    booking = claimed.json()["booking"]
    assert booking["start"] == WED_10
    assert booking["practitioner"] == "doctor1"
    assert booking["status"] == "confirmed"
    assert await status_of(container, ids["next"]) == "booked"
    async with container.db.read() as conn:
        offer = (await conn.execute(select(offers).where(offers.c.entry_id == ids["next"]))).one()
    assert offer.status == "claimed"
    assert offer.booking_id == booking["id"] == offer.hold_id  # the hold became the booking
    converted = await events(container, "waitlist.converted")
    assert [(e["entry_id"], e["via"]) for e in converted] == [(ids["next"], "offer")]


async def test_a_slot_nobody_else_suits_is_released_after_the_window(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    front_desk: dict[str, str],
) -> None:
    ids = await freed_slot(client, container, front_desk, suited=1)

    clock.advance(timedelta(minutes=31))
    await container.waitlist.offers.expire_due(clock.now())

    assert await status_of(container, ids["best"]) == "waiting"
    assert await _live_offers(container) == 0
    assert (await try_to_book_wed_10(client)).status_code == 201  # free for anyone again


async def test_two_simultaneous_claims_of_one_offer_make_one_booking(
    client: httpx.AsyncClient, container: Container, ids: dict[str, str]
) -> None:
    token = offer_token(container, 3)

    both = await asyncio.gather(claim(client, token), claim(client, token))

    assert sorted(r.status_code for r in both) == [201, 409]
    loser = next(r for r in both if r.status_code == 409)
    assert loser.json()["code"] == "waitlist_link_closed"
    async with container.db.read() as conn:
        query = select(func.count()).where(
            appointments.c.start_at == datetime.fromisoformat(WED_10),
            appointments.c.status == "confirmed",
        )
        assert int((await conn.execute(query)).scalar_one()) == 1


async def test_a_hold_released_or_a_bare_hold_cancelled_offers_nothing(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    await join(client, alt(1))
    hold = await client.post("/v1/holds", json={**ALT, "start": WED_10, "practitioner": "doctor1"})
    released = await client.post(f"/v1/bookings/{hold.json()['id']}/cancel", headers=front_desk)
    assert released.status_code == 200
    await container.bus.run_once()

    assert await events(container, "waitlist.offer_made") == []


async def _live_offers(container: Container) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).where(offers.c.status.in_(["made", "claiming"]))
        return int((await conn.execute(query)).scalar_one())


async def test_front_desk_converting_the_offered_entry_into_its_slot_confirms_the_hold(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str], ids: dict[str, str]
) -> None:
    slot = {"start": WED_10, "duration": 20, "practitioner": "doctor1"}

    resp = await client.post(f"/v1/waitlist/{ids['best']}/convert", json=slot, headers=front_desk)

    assert resp.status_code == 201, resp.text
    async with container.db.read() as conn:
        offer = (await conn.execute(select(offers).where(offers.c.entry_id == ids["best"]))).one()
    assert offer.status == "claimed"
    assert resp.json()["booking"]["id"] == offer.hold_id
    assert await _live_offers(container) == 0


async def test_a_claim_interrupted_after_booking_is_finished_by_the_offers_job(
    container: Container, clock: FixedClock, ids: dict[str, str]
) -> None:
    async with written(container.db) as uow:  # as if the process stopped mid-claim
        conn = uow.connection
        offer = (await conn.execute(select(offers).where(offers.c.entry_id == ids["best"]))).one()
        await conn.execute(offers.update().where(offers.c.id == offer.id).values(status="claiming"))
    booked, _ = await container.bookings.book(
        SYSTEM,
        BookRequest(
            SlotRequest(ALT["service"], "initial", 20, datetime.fromisoformat(WED_10), "doctor1"),
            PatientDetails("Wren3", "Halloway", "wren3@example.org", None),
            offer.hold_id,
        ),
        None,
    )

    clock.advance(timedelta(minutes=6))
    await container.waitlist.offers.expire_due(clock.now())

    assert await status_of(container, ids["best"]) == "booked"
    async with container.db.read() as conn:
        after = (await conn.execute(select(offers).where(offers.c.id == offer.id))).one()
    assert (after.status, after.booking_id) == ("claimed", booked.id)
    assert [e["via"] for e in await events(container, "waitlist.converted")] == ["offer"]


async def test_with_auto_offers_switched_off_a_freed_slot_simply_opens(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    admin = await admin_session(container)
    off = await client.put("/v1/flags/waitlist_auto_offers", json={"enabled": False}, headers=admin)
    assert off.status_code == 200, off.text

    ids = await freed_slot(client, container, front_desk)

    assert await status_of(container, ids["best"]) == "waiting"
    assert await events(container, "waitlist.offer_made") == []
    assert (await try_to_book_wed_10(client)).status_code == 201  # not held for anyone
