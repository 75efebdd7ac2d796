"""Web Push end to end: a signed-in patient registers their browser over the API, a booking's event
sends the notification through the production adapter (wired by bootstrap from VAPID settings)
to a fake push service on loopback, which checks the VAPID JWT and decrypts the aes128gcm body
with the browser's own keys (RFC 8291), as a browser would. Helpers: support/push_browsers.py;
fixtures: this folder's conftest.py.

This module: what a registered browser receives (the confirmation encrypted and signed,
reminders, the message the patient reads), nothing planned without a browser, and gone browsers
(404/410) deleted.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.bootstrap import Container
from clinicflow.notifications.messages.errors import DeliveryFailed
from clinicflow.shared.clock import FixedClock
from support.fake_push import FakePushService
from support.push_browsers import (
    PUBLIC,
    SUBJECT,
    TTL,
    application_server_key,
    book,
    message_rows,
    notify,
    register,
    signed_in_patient,
    subscription_rows,
    with_browsers,
)


async def test_a_registered_browser_receives_the_booking_confirmation_encrypted_and_signed(
    client: httpx.AsyncClient,
    container: Container,
    service: FakePushService,
    vapid_key: ec.EllipticCurvePrivateKey,
    clock: FixedClock,
) -> None:
    first = await book(client, "2026-11-25T10:00:00-06:00")
    patient = await signed_in_patient(client, container)
    key = await client.get("/v1/notifications/push/key", headers=patient)
    assert key.status_code == 200, key.text
    assert key.json() == {"application_server_key": application_server_key(vapid_key)}
    browser_id, subscription = service.subscribe()
    await register(client, patient, subscription)

    made = await book(client)
    await notify(container, made["id"])

    assert made["patient_id"] == first["patient_id"]
    assert service.refusals == []
    [delivery] = service.deliveries
    assert delivery.subscriber_id == browser_id
    assert json.loads(delivery.payload) == {
        "title": "Riverbend Wellness Clinic: visit booked",
        "body": "Wednesday 25 November 2026 at 11:00. Tap to see or change it.",
        "url": f"{PUBLIC}/me/visits/{made['id']}",
        "tag": made["id"],
    }
    assert delivery.ttl == TTL
    assert delivery.claims["aud"] == service.url
    assert delivery.claims["sub"] == SUBJECT
    row = (await message_rows(container, made["id"]))["confirmation.push"]
    assert (row.channel, row.status, row.provider, row.provider_id) == (
        "push",
        "sent",
        "webpush",
        None,
    )
    [stored] = await subscription_rows(container)
    assert stored.last_used_at == clock.now()


async def test_the_patient_reads_the_push_message_like_the_others(
    client: httpx.AsyncClient, container: Container, service: FakePushService
) -> None:
    patient, _ = await with_browsers(client, container, service)
    await notify(container, (await book(client))["id"])

    listed = await client.get("/v1/notifications", headers=patient)

    assert listed.status_code == 200, listed.text
    [push] = [n for n in listed.json()["notifications"] if n["channel"] == "push"]
    assert (push["template"], push["status"]) == ("confirmation.push", "sent")
    assert push["subject"] == "Riverbend Wellness Clinic: visit booked"
    assert push["text"].startswith("Wednesday 25 November 2026 at 11:00")


async def test_reminders_go_to_the_registered_browser_too(
    client: httpx.AsyncClient, container: Container, service: FakePushService, clock: FixedClock
) -> None:
    await with_browsers(client, container, service)
    made = await book(client)  # 11:00 Wednesday: the 24 h reminder is due Tuesday 11:00
    await notify(container, made["id"])
    clock.advance(timedelta(hours=2))

    await container.notifications.reminders.send_due(clock.now())

    titles = [json.loads(d.payload)["title"] for d in service.deliveries]
    assert titles == [
        "Riverbend Wellness Clinic: visit booked",
        "Riverbend Wellness Clinic: visit reminder",
    ]


async def test_without_a_registered_browser_no_push_message_is_planned(
    client: httpx.AsyncClient, container: Container, service: FakePushService
) -> None:
    made = await book(client)
    await notify(container, made["id"])

    assert set(await message_rows(container, made["id"])) == {
        "confirmation.email",
        "confirmation.sms",
    }
    assert service.requests == 0


@pytest.mark.both_databases
async def test_a_gone_browser_is_deleted_and_the_other_still_gets_the_message(
    client: httpx.AsyncClient, container: Container, service: FakePushService
) -> None:
    _, [(old_id, _), (new_id, new)] = await with_browsers(client, container, service, 2)
    service.gone.add(old_id)

    made = await book(client)
    await notify(container, made["id"])

    assert [d.subscriber_id for d in service.deliveries] == [new_id]
    stored = await subscription_rows(container)
    assert [s.endpoint_hash for s in stored] == [hashlib.sha256(new.endpoint.encode()).hexdigest()]
    assert (await message_rows(container, made["id"]))["confirmation.push"].status == "sent"


async def test_a_410_from_the_only_browser_deletes_it_and_fails_the_message_with_the_reason(
    client: httpx.AsyncClient, container: Container, service: FakePushService
) -> None:
    _, [(browser_id, _)] = await with_browsers(client, container, service)
    service.gone.add(browser_id)

    made = await book(client)
    with pytest.raises(DeliveryFailed):
        await notify(container, made["id"])

    assert await subscription_rows(container) == []
    found = await message_rows(container, made["id"])
    assert found["confirmation.push"].status == "failed"
    assert found["confirmation.push"].reason.startswith("SubscriptionGone: no push subscription")
    assert found["confirmation.email"].status == "delivered"  # kept locally, unaffected
    assert service.refusals == ["subscription expired"]
