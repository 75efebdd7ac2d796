"""Staff conversion of an entry into a patient and a booking, and nurture messages whose
clicks feed the score. SQLite, and PostgreSQL when reachable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import search
from clinicflow.patients.tables import patients
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.tables import entries, nurtures
from support.app import staff_session
from support.waitlist import PHI_WORDS, all_waitlist_payloads, events, join, links_sent, person

# Waves, offers, conversions and statistics are counted, locked and ordered in SQL.
pytestmark = pytest.mark.both_databases

WED_10 = "2026-11-25T10:00:00-06:00"
SLOT = {"start": WED_10, "duration": 20, "practitioner": "doctor1"}


def alt(n: int, **over: Any) -> dict[str, Any]:
    return person(n, service="alternative_medicine", **over)


async def entry(container: Container, entry_id: str) -> Any:
    async with container.db.read() as conn:
        return (await conn.execute(select(entries).where(entries.c.id == entry_id))).one()


async def test_front_desk_turns_an_entry_into_a_patient_and_a_booking(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = await join(client, alt(1, phone="(512) 555-0142"))

    resp = await client.post(f"/v1/waitlist/{made['id']}/convert", json=SLOT, headers=front_desk)

    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["entry"]["status"] == "booked"
    assert body["entry"]["stages"]["booked"] is not None
    assert body["booking"]["start"] == WED_10
    assert body["booking"]["status"] == "confirmed"
    row = await entry(container, made["id"])
    assert row.booking_id == body["booking"]["id"]
    async with container.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(patients))).scalar_one()
    assert count == 1
    assert row.patient_id is not None
    converted = await events(container, "waitlist.converted")
    assert [(e["entry_id"], e["via"], e["patient_id"]) for e in converted] == [
        (made["id"], "staff", row.patient_id)
    ]
    async with container.db.read() as conn:
        audit = await search(conn, resource_type="waitlist_entry")
    assert "convert" in {a.action for a in audit if a.resource_id == made["id"]}
    again = await client.post(f"/v1/waitlist/{made['id']}/convert", json=SLOT, headers=front_desk)
    assert again.status_code == 409
    assert again.json()["code"] == "waitlist_entry_closed"


async def test_only_front_desk_and_admins_convert_and_a_taken_slot_changes_nothing(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = await join(client, alt(1))
    analyst = await staff_session(container, "numbers", "analyst")
    url = f"/v1/waitlist/{made['id']}/convert"

    assert (await client.post(url, json=SLOT)).status_code == 401
    assert (await client.post(url, json=SLOT, headers=analyst)).status_code == 403
    other = await join(client, alt(2))
    done = await client.post(f"/v1/waitlist/{other['id']}/convert", json=SLOT, headers=front_desk)
    assert done.status_code == 201
    taken = await client.post(url, json=SLOT, headers=front_desk)
    assert taken.status_code == 409
    assert taken.json()["code"] == "slot_unavailable"
    assert (await entry(container, made["id"])).status == "waiting"


async def test_nurture_writes_to_waiting_entries_every_30_days_and_clicks_count_once(
    client: httpx.AsyncClient, container: Container, clock: FixedClock, front_desk: dict[str, str]
) -> None:
    kept = await join(client, alt(1))
    gone = await join(client, alt(2))
    await client.delete(f"/v1/waitlist/{gone['id']}", headers=front_desk)
    nurture = container.waitlist.nurture

    clock.advance(timedelta(days=29))
    assert await nurture.send_due(clock.now()) == 0
    clock.advance(timedelta(days=1))
    assert await nurture.send_due(clock.now()) == 1
    assert await nurture.send_due(clock.now()) == 0  # one per cadence step

    due = await events(container, "waitlist.nurture_due")
    assert [(e["entry_id"], e["seq"]) for e in due] == [(kept["id"], 1)]
    token = links_sent(container, "t")["wren1@example.org"]
    first = await client.get(f"/v1/waitlist/t/{token}")
    second = await client.get(f"/v1/waitlist/t/{token}")
    assert first.status_code == 200, first.text
    assert (first.json()["counted"], second.json()["counted"]) == (True, False)
    assert not [w for w in PHI_WORDS if w in first.text]
    desk = await staff_session(container, "later", "front_desk")  # a month on: a new session
    listed = await client.get(
        "/v1/waitlist", params={"service": "alternative_medicine"}, headers=desk
    )
    mine = next(e for e in listed.json()["entries"] if e["id"] == kept["id"])
    engagement = next(c for c in mine["components"] if c["name"] == "engagement")
    assert engagement["value"] > 0
    assert "1 clicked" in engagement["reason"]
    assert mine["stages"]["clicked"] is not None
    assert (await client.get("/v1/waitlist/t/" + "x" * 43)).status_code == 404
    clock.advance(timedelta(days=30))
    assert await nurture.send_due(clock.now()) == 1
    async with container.db.read() as conn:
        seqs = (await conn.execute(select(nurtures.c.seq).order_by(nurtures.c.seq))).scalars()
        assert list(seqs) == [1, 2]
    assert not [w for w in PHI_WORDS if w in await all_waitlist_payloads(container)]
