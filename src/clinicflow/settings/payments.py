"""The payments context's settings: the Stripe and PayPal gateways and their circuit breaker."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from clinicflow.settings.completeness import all_or_none


class PaymentSettings(BaseSettings):
    """CLINICFLOW_STRIPE_*, CLINICFLOW_PAYPAL_*, CLINICFLOW_PAYMENT_BREAKER_*."""

    # Payment gateways (payments/, adapters/payment_gateways/): Stripe when its secret key and
    # webhook signing secret are set; PayPal when its client id, secret and webhook id are set.
    # With neither, an in-memory fake of each serves the embedded demo (nothing is charged).
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None  # whsec_…: the endpoint's signing secret
    stripe_base_url: str = "https://api.stripe.com"
    # The booking site's card step (web/paying.py): Stripe.js runs in the buyer's browser with
    # the publishable key (pk_…); without it the site offers no card payment. Stripe.js must
    # load from Stripe's own origin (it cannot be vendored): that page alone widens its
    # Content-Security-Policy to this origin (tests point it at a local fake).
    stripe_publishable_key: str | None = None
    stripe_js_origin: str = "https://js.stripe.com"
    stripe_webhook_tolerance_seconds: int = Field(default=300, gt=0)
    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None  # the id PayPal gave the webhook subscription
    paypal_base_url: str = "https://api-m.sandbox.paypal.com"  # live: https://api-m.paypal.com
    # Where PayPal sends the buyer back after approving (or not); unset: PayPal's JS popup.
    # The booking site offers PayPal only by redirect: set these to public_url +
    # /book/paypal/return and public_url + /book/paypal/cancel (web/paying.py).
    paypal_return_url: str | None = None
    paypal_cancel_url: str | None = None
    # Each gateway's circuit opens after this many outages in a row, for this many seconds.
    payment_breaker_threshold: int = Field(default=5, gt=0)
    payment_breaker_reset_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _gateways_complete(self) -> Self:
        all_or_none(self, "stripe_secret_key", "stripe_webhook_secret")
        return all_or_none(self, "paypal_client_id", "paypal_client_secret", "paypal_webhook_id")
