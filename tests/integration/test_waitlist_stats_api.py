"""Waitlist statistics on a small fixed data set, exactly; and who may see what."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import search
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.entries.commands import Contact, JoinRequest
from clinicflow.waitlist.tables import entries
from support.app import admin_session, staff_session
from support.db import written
from support.waitlist import join, person

# Waves, offers, conversions and statistics are counted, locked and ordered in SQL.
pytestmark = pytest.mark.both_databases


async def set_status(container: Container, entry_id: str, status: str) -> None:
    async with written(container.db) as uow:
        conn = uow.connection
        await conn.execute(update(entries).where(entries.c.id == entry_id).values(status=status))


async def scripted(client: httpx.AsyncClient, container: Container, clock: FixedClock) -> None:
    """Counseling: joins in ISO weeks 46, 47 and 48 at four distances, one withdrawn.
    Alternative medicine: a funnel of four: paid, clicked, notified, still waiting."""
    start = clock.now()
    clock.set(start - timedelta(days=14))  # Tuesday of week 46
    await join(client, person(1, zip="78701"))  # 0 miles
    clock.set(start - timedelta(days=7))
    await join(client, person(2, zip="78613"))  # 17 miles
    clock.set(start)
    await join(client, person(3, zip="75201"))  # 183 miles
    await join(client, person(4, zip="03601"))  # a small ZIP3 area (036), far away
    gone = await join(client, person(5))
    await client.delete("/v1/waitlist/mine", params={"token": gone["token"]})
    service = container.waitlist.entries
    now = clock.now()
    made = [await join(client, person(10 + n, service="alternative_medicine")) for n in range(4)]
    stages = [("notified", "clicked", "booked", "paid"), ("notified", "clicked"), ("notified",), ()]
    statuses = ["converted", "invited", "invited", "waiting"]
    for entry, reached, status in zip(made, stages, statuses, strict=True):
        for stage in reached:
            assert await service.stamp(entry["id"], stage, now)
        await set_status(container, entry["id"], status)
    assert not await service.stamp(made[0]["id"], "paid", now + timedelta(days=1))


def of(body: dict[str, Any], service: str) -> Any:
    return next(s for s in body["services"] if s["service"] == service)


async def test_stats_count_a_scripted_scenario_exactly(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    await scripted(client, container, clock)
    analyst = await staff_session(container, "ana", "analyst")

    resp = await client.get("/v1/waitlist/stats", params={"weeks": 3}, headers=analyst)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["clinic_conversion_rate"] == pytest.approx(1 / 3)
    counseling = of(body, "counseling")
    assert counseling["size"] == 4
    assert counseling["by_state"] == {
        "waiting": 4,
        "invited": 0,
        "offered": 0,
        "booked": 0,
        "converted": 0,
        "withdrawn": 1,
    }
    assert [(w["week"], w["joins"]) for w in counseling["growth"]] == [
        ("2026-W46", 1),
        ("2026-W47", 1),
        ("2026-W48", 3),
    ]
    assert counseling["by_zip3"] == {"000": 1, "752": 1, "786": 1, "787": 1}
    assert counseling["by_distance_band"] == {
        "0-15": 1,
        "15-30": 1,
        "30-60": 0,
        "60+": 2,
        "unknown": 0,
    }
    assert counseling["funnel"]["counts"] == {"notified": 0, "clicked": 0, "booked": 0, "paid": 0}
    assert set(counseling["funnel"]["rates"].values()) == {None}
    assert counseling["conversion_rate_basis"] == "clinic"
    assert counseling["conversion_potential"] == pytest.approx(4 / 3)

    alt = of(body, "alternative_medicine")
    assert (alt["size"], alt["waiting"]) == (3, 1)
    assert alt["funnel"]["counts"] == {"notified": 3, "clicked": 2, "booked": 1, "paid": 1}
    assert alt["funnel"]["rates"] == {
        "notified_to_clicked": pytest.approx(2 / 3),
        "clicked_to_booked": 0.5,
        "booked_to_paid": 1.0,
    }
    assert alt["conversion_rate"] == pytest.approx(1 / 3)
    assert alt["conversion_rate_basis"] == "service"
    assert alt["conversion_potential"] == pytest.approx(1 / 3)
    assert of(body, "gaps_coaching")["size"] == 0
    for secret in ("Wren", "Halloway", "@example.org", "78613"):
        assert secret not in resp.text


async def test_stats_for_one_service_and_an_unknown_one(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    await join(client, person(1))

    one = await client.get(
        "/v1/waitlist/stats", params={"service": "counseling"}, headers=front_desk
    )
    unknown = await client.get("/v1/waitlist/stats", params={"service": "x"}, headers=front_desk)

    assert [s["service"] for s in one.json()["services"]] == ["counseling"]
    assert one.json()["services"][0]["size"] == 1
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("service")


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("role", "list_status", "stats_status"),
    [
        ("admin", 200, 200),
        ("front_desk", 200, 200),
        ("analyst", 403, 200),
        ("practitioner", 403, 403),
        ("billing", 403, 403),
        ("patient", 403, 403),
        ("anonymous", 401, 401),
    ],
)
async def test_who_may_list_entries_and_see_statistics(
    client: httpx.AsyncClient,
    container: Container,
    role: str,
    list_status: int,
    stats_status: int,
) -> None:
    made = await join(client, person(1))
    headers = await _headers(client, container, role)

    listed = await client.get("/v1/waitlist", headers=headers)
    stats = await client.get("/v1/waitlist/stats", headers=headers)
    changed = await client.patch(
        f"/v1/waitlist/{made['id']}", json={"interest_level": 1}, headers=headers
    )

    assert (listed.status_code, stats.status_code) == (list_status, stats_status)
    assert changed.status_code == list_status
    if list_status != 200:
        assert "Wren1" not in listed.text
        assert listed.headers["content-type"] == "application/problem+json"


async def test_a_refused_staff_member_leaves_a_denied_audit_row(
    client: httpx.AsyncClient, container: Container
) -> None:
    analyst = await staff_session(container, "ana", "analyst")
    me = (await client.get("/v1/auth/me", headers=analyst)).json()

    await client.get("/v1/waitlist", headers=analyst)

    async with container.db.read() as conn:
        rows = await search(conn, actor_id=me["id"], outcome="denied")
    assert [(r.action, r.resource_type) for r in rows] == [("list", "waitlist_entry")]


async def _headers(client: httpx.AsyncClient, container: Container, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if role == "patient":
        made = await client.post(
            "/v1/patients",
            json={"first_name": "Ida", "last_name": "Vance", "email": "ida@example.org"},
            headers=await staff_session(container, "desk0", "front_desk"),
        )
        opened = await container.identity.sessions.open_for_patient(made.json()["id"])
        return {"Cookie": f"cf_session={opened.token}"}
    if role == "admin":
        return await admin_session(container)
    practitioner = "doctor1" if role == "practitioner" else None
    return await staff_session(container, f"u-{role}", role, practitioner)


async def test_two_joins_at_once_for_one_person_make_one_entry(container: Container) -> None:
    contact = Contact("Wren", "Halloway", "wren@example.org", None)
    req = JoinRequest("counseling", contact, "78701", 3)
    service = container.waitlist.entries

    first, second = await asyncio.gather(service.join(ANONYMOUS, req), service.join(ANONYMOUS, req))

    # Anonymous callers: the repeat looks new too (issue 13), yet only one entry exists.
    assert [first.already_joined, second.already_joined] == [False, False]
    async with container.db.read() as conn:
        ids = (await conn.execute(select(entries.c.id))).scalars().all()
    assert len(ids) == 1
    assert ids[0] in {first.id, second.id}
