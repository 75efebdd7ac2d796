"""Web Push end to end: a signed-in patient registers their browser over the API, a booking's event
sends the notification through the production adapter (wired by bootstrap from VAPID settings)
to a fake push service on loopback, which checks the VAPID JWT and decrypts the aes128gcm body
with the browser's own keys (RFC 8291), as a browser would. Helpers: support/push_browsers.py;
fixtures: this folder's conftest.py.

This module: registering a browser again, deleting the subscription, who may register, malformed
subscriptions refused, subscriptions resealed by key rotation, and a de-identified patient's
browsers forgotten.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import audit_log
from clinicflow.infra.outbox import Event
from clinicflow.infra.rekey import count_by_key, reseal_all
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.sealed import SEALED
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem
from support.app import staff_session
from support.fake_push import FakePushService, b64url
from support.notifications import browsers_of, save_browser
from support.push_browsers import (
    book,
    browser_json,
    message_rows,
    notify,
    one_browser,
    register,
    sealed_value_count,
    signed_in_patient,
    subscription_rows,
    with_browsers,
)


@pytest.mark.both_databases
async def test_registering_the_same_browser_again_updates_it_and_stores_it_sealed(
    client: httpx.AsyncClient, container: Container, service: FakePushService, clock: FixedClock
) -> None:
    patient_id, patient, subscription, first = await one_browser(client, container, service)
    clock.advance(timedelta(minutes=5))

    again = await register(client, patient, subscription)

    assert again["id"] == first["id"]
    assert again["updated_at"] > first["updated_at"]
    [row] = await subscription_rows(container)
    assert row.patient_id == patient_id
    assert row.endpoint_hash == hashlib.sha256(subscription.endpoint.encode()).hexdigest()
    for column, plain in (
        ("endpoint_enc", subscription.endpoint),
        ("p256dh_enc", subscription.p256dh),
        ("auth_enc", subscription.auth),
    ):
        assert plain not in row._mapping[column]
    assert row.user_agent.startswith("Mozilla/5.0")
    async with container.db.read() as conn:
        query = select(audit_log).where(audit_log.c.action == "register_push_subscription")
        audited = (await conn.execute(query)).all()
    assert [(a.actor_type, a.patient_id, a.resource_id, a.outcome) for a in audited] == [
        ("patient", patient_id, first["id"], "allowed")
    ] * 2


async def test_deleting_the_subscription_withdraws_push(
    client: httpx.AsyncClient, container: Container, service: FakePushService
) -> None:
    patient, [(_, by_body), (_, by_query)] = await with_browsers(client, container, service, 2)

    gone = await client.request(
        "DELETE",
        "/v1/notifications/push/subscriptions",
        json={"endpoint": by_body.endpoint},
        headers=patient,
    )
    also = await client.delete(
        "/v1/notifications/push/subscriptions",
        params={"endpoint": by_query.endpoint},
        headers=patient,
    )
    made = await book(client)
    await notify(container, made["id"])

    assert (gone.status_code, also.status_code) == (204, 204)
    assert await subscription_rows(container) == []
    assert "confirmation.push" not in await message_rows(container, made["id"])
    assert service.requests == 0
    async with container.db.read() as conn:
        query = select(func.count()).where(audit_log.c.action == "delete_push_subscription")
        assert (await conn.execute(query)).scalar_one() == 2


async def test_staff_cannot_register_a_browser_and_anonymous_callers_must_sign_in(
    client: httpx.AsyncClient, container: Container, service: FakePushService
) -> None:
    desk = await staff_session(container, "desk", "front_desk")
    body = browser_json(service.subscribe()[1])
    url = "/v1/notifications/push/subscriptions"

    assert_problem(await client.post(url, json=body, headers=desk), 403, "forbidden")
    assert_problem(await client.get("/v1/notifications/push/key", headers=desk), 403, "forbidden")
    assert_problem(await client.post(url, json=body), 401, "authentication_required")
    assert await subscription_rows(container) == []
    async with container.db.read() as conn:
        query = select(audit_log.c.role, audit_log.c.outcome).where(
            audit_log.c.action == "register_push_subscription"
        )
        assert (await conn.execute(query)).all() == [("front_desk", "denied")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"keys": {"p256dh": b64url(b"\x04" + bytes(40))}}, "keys.p256dh"),
        ({"keys": {"auth": b64url(bytes(12))}}, "keys.auth"),
        ({"keys": {"auth": "abc/def+"}}, "keys.auth"),
        ({"endpoint": "http://push.example.net/send/1"}, "endpoint"),
    ],
)
async def test_a_malformed_subscription_is_refused_with_a_problem_naming_the_field(
    client: httpx.AsyncClient,
    container: Container,
    service: FakePushService,
    change: dict[str, Any],
    field: str,
) -> None:
    await book(client)
    patient = await signed_in_patient(client, container)
    body = browser_json(service.subscribe()[1])
    body = {**body, **change, "keys": {**body["keys"], **change.get("keys", {})}}

    resp = await client.post("/v1/notifications/push/subscriptions", json=body, headers=patient)

    problem = assert_problem(resp, 422, "invalid_request")
    assert problem["field"] == field
    assert field in problem["detail"] or "https" in problem["detail"]
    assert await subscription_rows(container) == []


async def test_a_body_without_keys_is_a_validation_problem(
    client: httpx.AsyncClient, container: Container
) -> None:
    await book(client)
    patient = await signed_in_patient(client, container)
    resp = await client.post(
        "/v1/notifications/push/subscriptions",
        json={"endpoint": "https://push.example.net/send/1"},
        headers=patient,
    )
    assert "keys" in assert_problem(resp, 422, "validation_error")["detail"]


@pytest.mark.both_databases
async def test_subscriptions_are_resealed_by_key_rotation_and_still_open(
    client: httpx.AsyncClient, container: Container, service: FakePushService, clock: FixedClock
) -> None:
    patient_id, _, subscription, _ = await one_browser(client, container, service)
    rotated = container.keys.with_new_active_key()

    await reseal_all(container.db, SEALED, rotated)

    assert await count_by_key(container.db, SEALED) == {
        rotated.active: await sealed_value_count(container)
    }
    [device] = await browsers_of(container.db, rotated, patient_id)
    assert device.subscription == subscription


@pytest.mark.both_databases
async def test_a_deidentified_patient_s_browsers_are_forgotten(container: Container) -> None:
    db, keys, now = container.db, container.keys, container.clock.now()
    browser = PushSubscription("https://push.example/send/abc", "p" * 87, "a" * 22)
    await save_browser(db, keys, "patient-1", browser, now, "Firefox")
    await save_browser(
        db, keys, "patient-2", replace(browser, endpoint=browser.endpoint + "2"), now
    )
    async with UnitOfWork(db) as uow:
        payload = {"patient_id": "patient-1"}
        uow.publish(Event("patient.deidentified", "patient", "patient-1", now, payload))
        await uow.commit()

    assert len(await browsers_of(db, keys, "patient-1")) == 1
    await container.bus.run_once()  # the platform's subscribers, the erasure one among them

    assert await browsers_of(db, keys, "patient-1") == []
    assert len(await browsers_of(db, keys, "patient-2")) == 1
