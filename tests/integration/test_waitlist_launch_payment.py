"""A launched service is live everywhere: once counseling is launched (durations and prices
decided), it is quoted and paid, in clinic and through Stripe (the real adapter against the
fake server), and the waitlist entry whose visit was paid reaches `converted`. SQLite, and
PostgreSQL when reachable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.tables import entries
from support.app import admin_session, clinic_settings, staff_session
from support.fake_stripe import FakeStripe
from support.payments import (
    deliver,
    stripe_event,
)
from support.waitlist import MONDAY_10, clinic_yaml, join, links_sent, person

COUNSELING_INITIAL = {"service": "counseling", "visit_type": "initial"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
        config_path=clinic_yaml(tmp_path),
    )


async def _booked_entry(api: httpx.AsyncClient, pay: Container) -> tuple[str, Any]:
    """Wren1 joins, counseling launches, Wren1's invitation books Monday 10:00."""
    made = await join(api, person(1))
    launch = await api.post("/v1/services/counseling/launch", headers=await admin_session(pay))
    assert launch.status_code == 201, launch.text
    token = links_sent(pay, "invitations")["wren1@example.org"]
    claimed = await api.post(
        "/v1/waitlist/invitations/claim", params={"token": token}, json={"start": MONDAY_10}
    )
    assert claimed.status_code == 201, claimed.text
    return made["id"], await _entry(pay, made["id"])


async def _entry(pay: Container, entry_id: str) -> Any:
    async with pay.db.read() as conn:
        return (await conn.execute(select(entries).where(entries.c.id == entry_id))).one()


async def _session(pay: Container, patient_id: str) -> dict[str, str]:
    opened = await pay.identity.sessions.open_for_patient(patient_id)
    return {"Cookie": f"cf_session={opened.token}"}


async def test_a_launched_service_is_quoted_like_any_live_service(
    api: httpx.AsyncClient, pay: Container
) -> None:
    before = await api.post("/v1/quotes", json={"visits": [COUNSELING_INITIAL]})
    await _booked_entry(api, pay)

    after = await api.post("/v1/quotes", json={"visits": [COUNSELING_INITIAL]})

    assert before.json()["priceable"] is False
    assert "not offered yet" in before.json()["unpriceable"][0]["reason"]
    assert after.status_code == 200, after.text
    body = after.json()
    assert (body["priceable"], body["unpriceable"], body["total_cents"]) == (True, [], 15_000)
    services = {s["key"]: s for s in (await api.get("/v1/services")).json()}
    assert (services["counseling"]["active"], services["counseling"]["launched"]) == (True, True)


async def test_paying_in_clinic_for_a_launched_service_converts_the_entry(
    api: httpx.AsyncClient, pay: Container
) -> None:
    entry_id, entry = await _booked_entry(api, pay)
    desk = await staff_session(pay, "desk", "front_desk")

    paid = await api.post(
        "/v1/payments",
        json={"booking_ids": [entry.booking_id], "method": "in_clinic", "tender": "cash"},
        headers=desk,
    )
    await pay.bus.run_once()  # payment.succeeded reaches the waitlist

    assert paid.status_code == 201, paid.text
    assert (paid.json()["status"], paid.json()["total_cents"]) == ("paid", 15_000)
    after = await _entry(pay, entry_id)
    assert after.status == "converted"


async def test_paying_through_stripe_for_a_launched_service_converts_the_entry(
    api: httpx.AsyncClient, pay: Container, stripe_server: FakeStripe, clock: FixedClock
) -> None:
    entry_id, entry = await _booked_entry(api, pay)
    me = await _session(pay, entry.patient_id)

    made = await api.post(
        "/v1/payments", json={"booking_ids": [entry.booking_id], "method": "stripe"}, headers=me
    )
    assert made.status_code == 201, made.text
    order = made.json()
    assert (order["status"], order["total_cents"]) == ("pending", 15_000)
    await pay.bus.run_once()
    assert (await _entry(pay, entry_id)).status == "booked"  # not paid yet: not converted
    stripe_server.complete(order["provider_id"])
    succeeded = stripe_event(
        stripe_server, "payment_intent.succeeded", order["provider_id"], clock.now()
    )

    answer = await deliver(api, "stripe", succeeded)
    await pay.bus.run_once()

    assert answer.json()["outcome"] == "paid"
    assert (await _entry(pay, entry_id)).status == "converted"
