"""Messaging and payment providers built from Settings (part of the composition root)."""

from __future__ import annotations

import base64
import logging

import httpx
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02  # type: ignore[import-untyped]
from tenacity import wait_exponential, wait_none, wait_random

from clinicflow.adapters._resilience import CircuitBreaker as GatewayBreaker
from clinicflow.adapters.messaging.resilient import CircuitBreaker, ResilientPush, RetryPolicy
from clinicflow.adapters.messaging.webpush import WebPush
from clinicflow.adapters.payment_gateways.fake import FakeGateway
from clinicflow.adapters.payment_gateways.paypal_gateway import PayPalGateway
from clinicflow.adapters.payment_gateways.resilient import ResilientGateway, gateway_breaker
from clinicflow.adapters.payment_gateways.resilient import RetryPolicy as GatewayRetry
from clinicflow.adapters.payment_gateways.stripe_gateway import StripeGateway
from clinicflow.notifications.ports import PushSender
from clinicflow.payments.ports import PaymentGateway
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock


def push_sender(
    settings: Settings, http: httpx.AsyncClient, clock: Clock
) -> tuple[PushSender | None, str | None]:
    """Web Push when a VAPID key is set: the sender, and the public key (applicationServerKey)
    browsers subscribe with."""
    if settings.vapid_private_key is None or settings.vapid_subject is None:
        return None, None
    private = settings.vapid_private_key.get_secret_value()
    sender = WebPush(private, settings.vapid_subject, http, clock)  # checks key and subject
    public = application_server_key(private)
    given = (settings.vapid_public_key or "").strip().rstrip("=")
    if given and given != public:
        raise ValueError(
            "CLINICFLOW_VAPID_PUBLIC_KEY is not the public half of CLINICFLOW_VAPID_PRIVATE_KEY;"
            " leave it unset and it is derived"
        )
    policy = RetryPolicy(attempts=settings.provider_retry_attempts)
    return ResilientPush(sender, CircuitBreaker("webpush"), policy), public


def application_server_key(private_key: str) -> str:
    key = private_key.strip()
    vapid = Vapid02.from_pem(key.encode()) if "-----BEGIN" in key else Vapid02.from_string(key)
    raw: bytes = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def payment_gateways(
    settings: Settings, http: httpx.AsyncClient, clock: Clock
) -> tuple[dict[str, PaymentGateway], dict[str, PaymentGateway], list[GatewayBreaker]]:
    """Gateways by method, the real ones by provider (for reconciliation), their breakers.
    Stripe and PayPal when configured, each behind its own retries and circuit breaker;
    with neither, in-memory fakes for the embedded demo (they never charge anyone)."""
    first = settings.provider_retry_wait_seconds
    wait = wait_exponential(multiplier=first, max=max(first, 8.0)) + wait_random(0, first)
    policy = GatewayRetry(settings.provider_retry_attempts, wait if first > 0 else wait_none())
    real: dict[str, PaymentGateway] = {}
    if settings.stripe_secret_key and settings.stripe_webhook_secret:
        # The SDK logs whole response bodies at DEBUG, client secrets included: never below INFO.
        logging.getLogger("stripe").setLevel(logging.INFO)
        real["stripe"] = StripeGateway(
            http,
            settings.stripe_secret_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            clock,
            base_url=settings.stripe_base_url,
            webhook_tolerance=settings.stripe_webhook_tolerance_seconds,
        )
    if settings.paypal_client_id and settings.paypal_client_secret and settings.paypal_webhook_id:
        real["paypal"] = PayPalGateway(
            http,
            settings.paypal_client_id,
            settings.paypal_client_secret.get_secret_value(),
            settings.paypal_webhook_id,
            clock,
            base_url=settings.paypal_base_url,
            return_url=settings.paypal_return_url,
            cancel_url=settings.paypal_cancel_url,
        )
    inner: dict[str, PaymentGateway] = dict(real) or {
        "stripe": FakeGateway(clock, "stripe"),
        "paypal": FakeGateway(clock, "paypal", needs_capture=True),
    }
    breakers = {
        name: gateway_breaker(
            name,
            threshold=settings.payment_breaker_threshold,
            reset_after=settings.payment_breaker_reset_seconds,
        )
        for name in inner
    }
    wrapped: dict[str, PaymentGateway] = {
        name: ResilientGateway(gateway, breakers[name], policy) for name, gateway in inner.items()
    }
    return wrapped, {name: wrapped[name] for name in real}, list(breakers.values())
