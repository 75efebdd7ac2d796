"""What the gateway adapters share: the outage definition for the circuit breaker, HTTP
statuses and headers read as port errors, and checks on amounts and times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from clinicflow.adapters._resilience import Outages
from clinicflow.payments.ports import GatewayCircuitOpen, GatewayUnavailable
from clinicflow.shared.numerals import is_decimal

PAYMENT_OUTAGES = Outages(transient=GatewayUnavailable, opened=GatewayCircuitOpen)


def is_transient(status: int) -> bool:
    return status == 429 or status >= 500


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    # Only the delta-seconds form; an HTTP date would need a clock, and neither vendor sends one.
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "").strip()
    return float(value) if is_decimal(value) else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup: frameworks hand headers over in any case."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def check_amount(amount_cents: int) -> None:
    # bool is an int in Python; True cents is a bug, not a payment.
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive integer number of minor units")


def check_currency(currency: str) -> str:
    code = currency.upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError("currency must be an ISO 4217 code like 'USD'")
    return code


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def from_rfc3339(text: str) -> datetime:
    """PayPal's times: '2026-11-24T15:00:00Z', sometimes with fractions or an offset."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return parsed.astimezone(UTC)
