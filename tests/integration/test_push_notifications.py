"""Web Push end to end: a signed-in patient registers their browser over the API, a booking's
event sends the notification through the production adapter (wired by bootstrap from VAPID
settings) to a fake push service on loopback, which checks the VAPID JWT and decrypts the
aes128gcm body with the browser's own keys (RFC 8291), as a browser would.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr
from sqlalchemy import func, select

from clinicflow.bootstrap import Container, build
from clinicflow.infra.audit import audit_log
from clinicflow.infra.outbox import Event
from clinicflow.infra.rekey import count_by_key, reseal_all
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.notifications.messages.errors import DeliveryFailed
from clinicflow.notifications.tables import messages, push_subscriptions
from clinicflow.sealed import SEALED
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem, bearer, booking, request_link
from support.app import clinic_settings, staff_session
from support.fake_push import FakePushService, b64url
from support.fake_vendor import serving
from support.notifications import browsers_of, envelope, notifications_of, save_browser

SUBJECT = "mailto:ops@clinic.example"
PUBLIC = "https://clinic.example"
TTL = 3600
WED_11 = "2026-11-25T11:00:00-06:00"


@pytest.fixture(scope="module")
def vapid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def application_server_key(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, vapid_key: ec.EllipticCurvePrivateKey) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
        public_url=PUBLIC,
        vapid_private_key=pem(vapid_key),
        vapid_subject=SUBJECT,
        push_ttl_seconds=TTL,
        push_allow_loopback=True,  # the fake push service listens on 127.0.0.1
        provider_retry_attempts=1,
    )


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # support/fake_vendor.py's client for the fakes on loopback


@pytest.fixture
def service(vapid_key: ec.EllipticCurvePrivateKey, clock: FixedClock) -> Iterator[FakePushService]:
    yield from serving(FakePushService(vapid_key.public_key(), clock.now()))


def browser_json(subscription: PushSubscription) -> dict[str, Any]:
    """What the page posts: the browser's PushSubscription.toJSON()."""
    return {
        "endpoint": subscription.endpoint,
        "expirationTime": None,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }


async def book(client: httpx.AsyncClient, start: str = WED_11) -> dict[str, Any]:
    resp = await client.post("/v1/bookings", json=booking(start))
    assert resp.status_code == 201, resp.text
    made: dict[str, Any] = resp.json()
    return made


async def notify(container: Container, booking_id: str, type_: str = "booking.created") -> None:
    await container.notifications.subscriber.handle(await envelope(container, type_, booking_id))


async def signed_in_patient(client: httpx.AsyncClient, container: Container) -> dict[str, str]:
    """Pat1 signs in with the emailed one-time link, as the patient pages do."""
    token = await request_link(client, container, "pat1@example.com")
    resp = await client.post("/v1/auth/patient-session", json={"token": token})
    assert resp.status_code == 200, resp.text
    client.cookies.clear()
    return bearer(resp.json()["token"])


async def with_browsers(
    client: httpx.AsyncClient, container: Container, service: FakePushService, count: int = 1
) -> tuple[dict[str, str], list[tuple[str, PushSubscription]]]:
    """Pat1, booked for 10:00 Wednesday and signed in, registers `count` browsers for push:
    the patient's headers and each browser's (id, subscription)."""
    await book(client, "2026-11-25T10:00:00-06:00")
    patient = await signed_in_patient(client, container)
    browsers = [service.subscribe() for _ in range(count)]
    for _, subscription in browsers:
        await register(client, patient, subscription)
    return patient, browsers


async def one_browser(
    client: httpx.AsyncClient, container: Container, service: FakePushService
) -> tuple[str, dict[str, str], PushSubscription, dict[str, Any]]:
    """Pat1, booked for 11:00 Wednesday and signed in, registers one browser for push: the
    patient's id and headers, the browser's subscription and what registering it answered."""
    made = await book(client)
    patient = await signed_in_patient(client, container)
    _, subscription = service.subscribe()
    registered = await register(client, patient, subscription)
    return made["patient_id"], patient, subscription, registered


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], subscription: PushSubscription
) -> dict[str, Any]:
    resp = await client.post(
        "/v1/notifications/push/subscriptions",
        json=browser_json(subscription),
        headers={**headers, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"},
    )
    assert resp.status_code == 201, resp.text
    made: dict[str, Any] = resp.json()
    return made


async def message_rows(container: Container, booking_id: str) -> dict[str, Any]:
    query = select(messages).where(messages.c.booking_id == booking_id)
    async with container.db.read() as conn:
        return {r.template: r for r in (await conn.execute(query)).all()}


async def subscription_rows(container: Container) -> list[Any]:
    async with container.db.read() as conn:
        return list((await conn.execute(select(push_subscriptions))).all())


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


async def test_without_vapid_keys_push_is_not_offered_and_never_planned(
    client: httpx.AsyncClient, container: Container, service: FakePushService, clock: FixedClock
) -> None:
    container.notifications = notifications_of(
        container,
        clock,
        public_url=PUBLIC,
    )
    made = await book(client)
    patient = await signed_in_patient(client, container)
    _, subscription = service.subscribe()
    # A browser registered while push was on.
    await save_browser(container.db, container.keys, made["patient_id"], subscription, clock.now())

    key = await client.get("/v1/notifications/push/key", headers=patient)
    added = await client.post(
        "/v1/notifications/push/subscriptions", json=browser_json(subscription), headers=patient
    )
    await notify(container, made["id"])
    removed = await client.delete(
        "/v1/notifications/push/subscriptions",
        params={"endpoint": subscription.endpoint},
        headers=patient,
    )

    assert_problem(key, 404, "push_not_configured")
    assert_problem(added, 404, "push_not_configured")
    assert "confirmation.push" not in await message_rows(container, made["id"])
    assert removed.status_code == 204  # a patient can always take their browser back
    assert await subscription_rows(container) == []


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


async def sealed_value_count(container: Container) -> int:
    async with container.db.read() as conn:
        total = 0
        for sealed in SEALED:
            for column in sealed.columns:
                query = select(func.count()).where(sealed.table.c[column].is_not(None))
                total += int((await conn.execute(query)).scalar_one())
        return total


def test_a_public_key_that_is_not_the_private_keys_half_is_refused_at_start(
    settings: Settings,
) -> None:
    other = application_server_key(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ValueError, match="VAPID_PUBLIC_KEY"):
        build(settings.model_copy(update={"vapid_public_key": other}))


def test_a_vapid_key_without_a_subject_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VAPID_SUBJECT"):
        Settings(data_dir=tmp_path, vapid_private_key="x", vapid_subject=None)


async def test_the_raw_base64url_private_key_gives_the_same_public_key(
    settings: Settings, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    raw = b64url(vapid_key.private_numbers().private_value.to_bytes(32, "big"))
    built = build(settings.model_copy(update={"vapid_private_key": SecretStr(raw)}))
    patient = Actor(kind="patient", id="patient:p1", role=Role.PATIENT, patient_id="p1")
    try:
        assert await built.notifications.push.key(patient) == application_server_key(vapid_key)
    finally:
        await built.aclose()


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
