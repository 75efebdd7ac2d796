"""Web Push end to end: a signed-in patient registers their browser over the API, a booking's event
sends the notification through the production adapter (wired by bootstrap from VAPID settings)
to a fake push service on loopback, which checks the VAPID JWT and decrypts the aes128gcm body
with the browser's own keys (RFC 8291), as a browser would. Helpers: support/push_browsers.py;
fixtures: this folder's conftest.py.

This module: the VAPID keys: without them push is neither offered nor planned; a public key that
is not the private key's half or a key without a subject is refused at start; a raw base64url
private key gives the same public key.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from clinicflow.bootstrap import Container, build
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem
from support.fake_push import FakePushService, b64url
from support.notifications import notifications_of, save_browser
from support.push_browsers import (
    PUBLIC,
    application_server_key,
    book,
    browser_json,
    message_rows,
    notify,
    signed_in_patient,
    subscription_rows,
)


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
