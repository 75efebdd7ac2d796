"""Launching counseling: refused while anything is TBD (naming each item), then bookable,
with the waitlist invited in waves sized to capacity, in priority order; the next wave after
the previous one lapsed or booked; every invitation link books exactly one slot; the
conversion funnel of a scripted launch. SQLite, and PostgreSQL when reachable."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.infra.bus import Envelope
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.tables import entries, invitations, waves
from support.app import admin_session, clinic_settings, staff_session
from support.waitlist import (
    MONDAY_10,
    MONDAY_11,
    NEXT_MONDAY_10,
    NEXT_MONDAY_11,
    PHI_WORDS,
    all_waitlist_payloads,
    clinic_yaml,
    events,
    join,
    links_sent,
    person,
)

# Waves, offers, conversions and statistics are counted, locked and ordered in SQL.
pytestmark = pytest.mark.both_databases

LAUNCH = "/v1/services/counseling/launch"
# Interest levels in joining order, a minute apart: equal levels rank by the longer wait.
LEVELS = [2, 5, 1, 4, 3, 5]
RANKED = [2, 6, 4, 5, 1, 3]  # who is first in line, by person number


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
        config_path=clinic_yaml(tmp_path, tbd=getattr(request, "param", False)),
    )


async def six_join(client: httpx.AsyncClient, clock: FixedClock) -> dict[int, str]:
    ids = {}
    for n, level in enumerate(LEVELS, start=1):
        ids[n] = (await join(client, person(n, interest_level=level)))["id"]
        clock.advance(timedelta(minutes=1))
    return ids


async def launched(
    client: httpx.AsyncClient, container: Container, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    resp = await client.post(LAUNCH, headers=headers or await admin_session(container))
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def statuses(container: Container, ids: dict[int, str]) -> dict[int, str]:
    async with container.db.read() as conn:
        rows = (await conn.execute(select(entries.c.id, entries.c.status))).all()
    by_id = {r.id: r.status for r in rows}
    return {n: by_id[i] for n, i in ids.items()}


def tokens_of(container: Container, numbers: list[int]) -> dict[int, str]:
    sent = links_sent(container, "invitations")
    return {n: sent[f"wren{n}@example.org"] for n in numbers}


async def claim(client: httpx.AsyncClient, token: str, start: str) -> httpx.Response:
    return await client.post(
        "/v1/waitlist/invitations/claim", params={"token": token}, json={"start": start}
    )


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.one_database
@pytest.mark.parametrize("settings", [True], indirect=True)
async def test_launch_is_refused_while_durations_or_prices_are_tbd_naming_each(
    client: httpx.AsyncClient, container: Container
) -> None:
    resp = await client.post(LAUNCH, headers=await admin_session(container))

    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "service_not_ready"
    messages = [e["message"] for e in body["errors"]]
    assert "initial visit durations are not decided yet (TBD)" in messages
    assert "initial visit price is not decided yet (TBD)" in messages
    assert "followup" not in body["detail"]  # only what is missing is named
    assert await events(container, "service.launched") == []
    still = await client.get(
        "/v1/availability",
        params={"service": "counseling", "visit_type": "followup", "duration": 50},
    )
    assert still.json()["code"] == "service_not_bookable"


@pytest.mark.one_database
async def test_only_an_admin_may_launch(client: httpx.AsyncClient, container: Container) -> None:
    desk = await staff_session(container, "desk", "front_desk")

    assert (await client.post(LAUNCH)).status_code == 401
    assert (await client.post(LAUNCH, headers=desk)).status_code == 403
    live = "/v1/services/alternative_medicine/launch"
    assert (await client.post(live, headers=await admin_session(container))).status_code == 409


# --- the first wave ------------------------------------------------------------------------


async def test_launch_makes_counseling_bookable_and_invites_capacity_many_in_priority_order(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    ids = await six_join(client, clock)
    admin = await admin_session(container)

    body = await launched(client, container, admin)

    assert body["wave"] == {"number": 1, "capacity": 4, "invited": 4}
    state = await statuses(container, ids)
    assert [n for n in RANKED if state[n] == "invited"] == RANKED[:4]
    assert [state[n] for n in RANKED[4:]] == ["waiting", "waiting"]
    invited = await events(container, "waitlist.invited")
    assert [e["entry_id"] for e in invited] == [ids[n] for n in RANKED[:4]]
    assert all(e["service"] == "counseling" and e["expires_at"] for e in invited)
    assert len(await events(container, "service.launched")) == 1
    listed = {s["key"]: s for s in (await client.get("/v1/services")).json()}
    assert listed["counseling"]["active"] is True  # the catalog API says so too
    assert listed["counseling"]["bookable"] is True
    # Booking now offers counseling: Monday 10:00 and 11:00 (and 10:30) are open.
    free = await client.get(
        "/v1/availability",
        params={"service": "counseling", "visit_type": "initial", "duration": 50,
                "start": "2026-11-30", "end": "2026-11-30"},
    )  # fmt: skip
    assert free.status_code == 200, free.text
    assert [s["start"] for s in free.json()["slots"]][:1] == [MONDAY_10]
    assert set(tokens_of(container, RANKED[:4])) == set(RANKED[:4])  # one email each
    again = await client.post(LAUNCH, headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "service_already_live"
    # Every subscriber takes the new events, and the periodic jobs run without failing.
    await container.bus.run_once()
    assert await container.bus.dead_letters() == []
    ran = await container.jobs.run_due()
    assert {"waitlist_offers", "waitlist_waves", "waitlist_nurture"} <= set(ran)


# --- the next wave -------------------------------------------------------------------------


async def test_the_second_wave_goes_once_the_first_has_lapsed(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    ids = await six_join(client, clock)
    await launched(client, container)
    first = tokens_of(container, RANKED[:4])
    launcher = container.waitlist.launches

    clock.advance(timedelta(hours=47))
    assert await launcher.run_due(clock.now()) == 0  # the first wave's links are still open
    clock.advance(timedelta(hours=1, minutes=1))
    done = await launcher.run_due(clock.now())

    assert done == 4 + 2  # four links closed, two people invited
    state = await statuses(container, ids)
    assert [state[n] for n in RANKED] == ["waiting"] * 4 + ["invited"] * 2
    assert len(await events(container, "waitlist.invitation_expired")) == 4
    async with container.db.read() as conn:
        numbers = (await conn.execute(select(waves.c.number, waves.c.invited))).all()
    assert sorted(numbers) == [(1, 4), (2, 2)]
    lapsed = await claim(client, first[RANKED[0]], MONDAY_10)
    assert lapsed.status_code == 409
    assert lapsed.json()["code"] == "waitlist_link_closed"


async def test_every_invitation_books_exactly_one_slot_then_the_next_wave_follows(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    ids = await six_join(client, clock)
    await launched(client, container)
    tokens = tokens_of(container, RANKED[:4])
    starts = [MONDAY_10, MONDAY_11, NEXT_MONDAY_10, NEXT_MONDAY_11]

    view = await client.get("/v1/waitlist/invitations", params={"token": tokens[RANKED[0]]})
    assert view.status_code == 200, view.text
    assert view.json()["status"] == "sent"
    assert view.json()["durations"] == {"initial": [50], "followup": [50]}
    assert next(s["start"] for s in view.json()["slots"]) == MONDAY_10
    booked = []
    for n, start in zip(RANKED[:4], starts, strict=True):
        resp = await claim(client, tokens[n], start)
        assert resp.status_code == 201, resp.text
        assert resp.json()["status"] == "booked"
        booked.append(resp.json()["booking"]["id"])
    twice = await claim(client, tokens[RANKED[0]], "2026-12-14T10:00:00-06:00")

    assert twice.status_code == 409
    assert len(set(booked)) == 4
    assert await _confirmed(container) == 4
    assert [(await statuses(container, ids))[n] for n in RANKED[:4]] == ["booked"] * 4
    converted = await events(container, "waitlist.converted")
    assert [e["via"] for e in converted] == ["invitation"] * 4
    assert all(e["patient_id"] and e["booking_id"] in booked for e in converted)
    # The wave is over, but the next two weeks are full: no second wave until places open.
    assert await _wave_count(container) == 1
    clock.advance(timedelta(days=7))
    assert await container.waitlist.launches.run_due(clock.now()) == 2
    state = await statuses(container, ids)
    assert [state[n] for n in RANKED[4:]] == ["invited", "invited"]


async def test_two_claims_of_one_invitation_at_once_make_one_booking(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    await six_join(client, clock)
    await launched(client, container)
    token = tokens_of(container, [RANKED[0]])[RANKED[0]]

    both = await asyncio.gather(claim(client, token, MONDAY_10), claim(client, token, MONDAY_11))

    assert sorted(r.status_code for r in both) == [201, 409]
    assert await _confirmed(container) == 1


# --- the funnel ----------------------------------------------------------------------------


async def test_the_conversion_funnel_counts_a_scripted_launch_exactly(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    ids = await six_join(client, clock)
    await launched(client, container)  # 4 notified
    tokens = tokens_of(container, RANKED[:4])
    for n in RANKED[:3]:  # 3 look at their link
        looked = await client.get("/v1/waitlist/invitations", params={"token": tokens[n]})
        assert looked.status_code == 200
    first = await claim(client, tokens[RANKED[0]], MONDAY_10)  # 2 book
    await claim(client, tokens[RANKED[1]], MONDAY_11)
    paid = Envelope(  # 1 pays
        event_id="00000000-0000-4000-8000-000000000001",
        type="payment.succeeded",
        version=1,
        occurred_at=clock.now(),
        aggregate_type="payment",
        aggregate_id="order-1",
        payload={"order_id": "order-1", "booking_ids": [first.json()["booking"]["id"]]},
    )
    subscriber = next(s for s in container.waitlist.subscribers if s.name == "waitlist_conversions")
    await subscriber.handle(paid)
    await subscriber.handle(paid)  # a repeated delivery changes nothing

    desk = await staff_session(container, "desk", "front_desk")
    stats = await client.get("/v1/waitlist/stats", params={"service": "counseling"}, headers=desk)

    funnel = stats.json()["services"][0]["funnel"]
    assert funnel["counts"] == {"notified": 4, "clicked": 3, "booked": 2, "paid": 1}
    assert funnel["rates"]["notified_to_clicked"] == 0.75
    assert funnel["rates"]["clicked_to_booked"] == pytest.approx(2 / 3, abs=1e-4)
    assert funnel["rates"]["booked_to_paid"] == 0.5
    assert (await statuses(container, ids))[RANKED[0]] == "converted"
    assert len(await events(container, "waitlist.paid")) == 1
    payloads = await all_waitlist_payloads(container)
    assert not [w for w in PHI_WORDS if w in payloads]
    for token in tokens.values():  # the database keeps hashes of links, never the links
        assert token not in await _invitation_dump(container)


async def _confirmed(container: Container) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).where(
            appointments.c.service == "counseling", appointments.c.status == "confirmed"
        )
        return int((await conn.execute(query)).scalar_one())


async def _wave_count(container: Container) -> int:
    async with container.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(waves))).scalar_one())


async def _invitation_dump(container: Container) -> str:
    async with container.db.read() as conn:
        return repr((await conn.execute(select(invitations))).all())
