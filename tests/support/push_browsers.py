"""What the Web Push end-to-end tests (tests/integration/push_notifications/) share: the VAPID
settings' values and key encodings, a patient booked and signed in with browsers registered, the
booking's event handed to notifications, and the rows they leave.
"""

from __future__ import annotations

from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.notifications.tables import messages, push_subscriptions
from clinicflow.sealed import SEALED
from support.api import bearer, booking, request_link
from support.fake_push import FakePushService, b64url
from support.notifications import envelope

SUBJECT = "mailto:ops@clinic.example"
PUBLIC = "https://clinic.example"
TTL = 3600
WED_11 = "2026-11-25T11:00:00-06:00"


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


async def sealed_value_count(container: Container) -> int:
    async with container.db.read() as conn:
        total = 0
        for sealed in SEALED:
            for column in sealed.columns:
                query = select(func.count()).where(sealed.table.c[column].is_not(None))
                total += int((await conn.execute(query)).scalar_one())
        return total
