"""What the HTTP messaging adapters share: transport failures and status codes as port errors."""

from __future__ import annotations

from typing import Any

import httpx

from clinicflow.notifications.ports import ProviderUnavailable
from clinicflow.shared.numerals import is_decimal

RECIPIENT = "[recipient]"


async def post(http: httpx.AsyncClient, provider: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await http.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(provider, "timed out") from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(provider, f"unreachable ({type(exc).__name__})") from exc


def is_transient(status: int) -> bool:
    return status == 429 or status >= 500


def unavailable(provider: str, response: httpx.Response) -> ProviderUnavailable:
    return ProviderUnavailable(provider, f"answered {response.status_code}", retry_after(response))


def retry_after(response: httpx.Response) -> float | None:
    # Only the delta-seconds form; an HTTP date would need a clock, and is rare from these APIs.
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if is_decimal(value) else None


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def scrub(text: str, *recipients: str) -> str:
    """Vendors quote the address or number they refused; logs and errors must not (PHI)."""
    for recipient in recipients:
        if recipient:
            text = text.replace(recipient, RECIPIENT)
            if recipient.startswith("+"):
                text = text.replace(recipient[1:], RECIPIENT)
    return text
