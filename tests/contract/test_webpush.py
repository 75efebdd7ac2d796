"""WebPush against a fake push service on loopback that decrypts the aes128gcm body with the
subscriber's key and verifies the VAPID JWT, as a real push service and browser would."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tenacity import wait_none

from clinicflow.adapters.messaging.resilient import CircuitBreaker, ResilientPush, RetryPolicy
from clinicflow.adapters.messaging.webpush import WebPush
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.notifications.ports import (
    CircuitOpen,
    MessageRejected,
    ProviderUnavailable,
    PushSender,
    SubscriptionGone,
)
from clinicflow.shared.clock import FixedClock
from support.fake_push import FakePushService, b64url
from support.fake_vendor import serving

SUBJECT = "mailto:ops@clinic.example"
PAYLOAD = json.dumps({"title": "Visit tomorrow", "body": "09:00 with Dr Jörg"}).encode()
NO_WAIT = RetryPolicy(attempts=3, wait=wait_none())


@pytest.fixture(scope="module")
def vapid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def service(vapid_key: ec.EllipticCurvePrivateKey, clock: FixedClock) -> Iterator[FakePushService]:
    yield from serving(FakePushService(vapid_key.public_key(), clock.now()))


@pytest.fixture
def push(
    vapid_key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient, clock: FixedClock
) -> WebPush:
    return WebPush(_pem(vapid_key), SUBJECT, http, clock)


async def test_the_payload_arrives_encrypted_and_decrypts_to_what_was_sent(
    push: WebPush, service: FakePushService, clock: FixedClock
) -> None:
    sender: PushSender = push
    subscriber_id, subscription = service.subscribe()

    result = await sender.send_push(subscription, PAYLOAD, ttl=3600)

    assert service.refusals == []
    [delivery] = service.deliveries
    assert delivery.subscriber_id == subscriber_id
    assert delivery.payload == PAYLOAD
    assert delivery.ttl == 3600
    assert delivery.headers["content-encoding"] == "aes128gcm"
    assert delivery.headers["authorization"].startswith("vapid t=")
    assert delivery.claims["aud"] == service.url
    assert delivery.claims["sub"] == SUBJECT
    assert delivery.claims["exp"] == int((clock.now() + timedelta(hours=12)).timestamp())
    assert result.provider == "webpush"
    assert result.status == "accepted"
    assert result.provider_id is not None
    assert result.provider_id.startswith(f"{service.url}/message/")


async def test_a_raw_base64url_private_key_works_too(
    vapid_key: ec.EllipticCurvePrivateKey,
    http: httpx.AsyncClient,
    clock: FixedClock,
    service: FakePushService,
) -> None:
    raw = b64url(vapid_key.private_numbers().private_value.to_bytes(32, "big"))
    _, subscription = service.subscribe()

    await WebPush(raw, SUBJECT, http, clock).send_push(subscription, b"hi", ttl=0)

    assert [d.payload for d in service.deliveries] == [b"hi"]


@pytest.mark.parametrize("status", [404, 410])
async def test_an_expired_subscription_is_gone(
    push: WebPush, service: FakePushService, status: int
) -> None:
    subscriber_id, subscription = service.subscribe()
    if status == 410:
        service.gone.add(subscriber_id)
    else:
        subscription = PushSubscription(
            f"{service.url}/push/unknown", subscription.p256dh, subscription.auth
        )

    with pytest.raises(SubscriptionGone) as caught:
        await push.send_push(subscription, PAYLOAD, ttl=60)
    assert caught.value.code == str(status)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_unavailability(
    push: WebPush, service: FakePushService, status: int
) -> None:
    service.failing = status
    _, subscription = service.subscribe()

    with pytest.raises(ProviderUnavailable):
        await push.send_push(subscription, PAYLOAD, ttl=60)


async def test_unavailability_is_retried_until_it_succeeds(
    push: WebPush, service: FakePushService
) -> None:
    service.answers = [503, 429]
    _, subscription = service.subscribe()

    await ResilientPush(push, CircuitBreaker("webpush"), NO_WAIT).send_push(
        subscription, PAYLOAD, 60
    )

    assert service.requests == 3
    assert [d.payload for d in service.deliveries] == [PAYLOAD]


async def test_the_circuit_opens_after_repeated_outages(
    push: WebPush, service: FakePushService
) -> None:
    service.failing = 503
    _, subscription = service.subscribe()
    breaker = CircuitBreaker("webpush", threshold=3)
    resilient = ResilientPush(push, breaker, NO_WAIT)

    with pytest.raises(ProviderUnavailable):
        await resilient.send_push(subscription, PAYLOAD, 60)
    with pytest.raises(CircuitOpen):
        await resilient.send_push(subscription, PAYLOAD, 60)

    assert service.requests == 3
    assert await breaker.state() == "open"


async def test_a_gone_subscription_does_not_trip_the_circuit(
    push: WebPush, service: FakePushService
) -> None:
    subscriber_id, subscription = service.subscribe()
    service.gone.add(subscriber_id)
    breaker = CircuitBreaker("webpush", threshold=1)

    with pytest.raises(SubscriptionGone):
        await ResilientPush(push, breaker, NO_WAIT).send_push(subscription, PAYLOAD, 60)

    assert service.requests == 1
    assert await breaker.state() == "closed"


async def test_the_service_refuses_a_key_it_does_not_know(
    http: httpx.AsyncClient, clock: FixedClock, service: FakePushService
) -> None:
    stranger = WebPush(_pem(ec.generate_private_key(ec.SECP256R1())), SUBJECT, http, clock)
    _, subscription = service.subscribe()

    with pytest.raises(MessageRejected) as caught:
        await stranger.send_push(subscription, PAYLOAD, ttl=60)
    assert caught.value.code == "403"


async def test_the_service_refuses_an_expired_token(
    vapid_key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient, clock: FixedClock,
    service: FakePushService,
) -> None:  # fmt: skip
    yesterday = FixedClock(clock.now() - timedelta(days=1))
    _, subscription = service.subscribe()

    with pytest.raises(MessageRejected) as caught:
        await WebPush(_pem(vapid_key), SUBJECT, http, yesterday).send_push(subscription, b"x", 60)
    assert caught.value.code == "401"
    assert service.refusals == ["exp is not within the next 24 h"]


async def test_a_subscription_with_broken_keys_is_rejected_before_sending(
    push: WebPush, service: FakePushService
) -> None:
    _, subscription = service.subscribe()
    broken = PushSubscription(
        subscription.endpoint, b64url(b"\x04" + b"\x00" * 64), subscription.auth
    )

    with pytest.raises(MessageRejected, match="keys"):
        await push.send_push(broken, PAYLOAD, ttl=60)
    assert service.requests == 0


async def test_bad_configuration_is_refused_at_construction(
    vapid_key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match="subject"):
        WebPush(_pem(vapid_key), "ops@clinic.example", http)
    with pytest.raises(ValueError, match="private key"):
        WebPush(base64.b64encode(b"not a key").decode(), SUBJECT, http)
