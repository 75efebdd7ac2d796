"""What a subscription may be: where it points and which events it wants.

Receivers must use https, so event data and signatures never cross a network in clear; plain
http is accepted only when a development setting allows it. Where the name leads (a public
address, never an internal one) is checked by `webhooks.targets`, with DNS.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from urllib.parse import urlsplit

ALL_EVENTS = "*"
DEFAULT_EVENT_TYPES: tuple[str, ...] = (
    "booking.created",
    "booking.rescheduled",
    "booking.cancelled",
    "payment.succeeded",
    "payment.failed",
    "payment.refunded",
    "waitlist.joined",
    "waitlist.invited",
    "waitlist.offer_made",
    "waitlist.offer_expired",
    "waitlist.converted",
    "service.launched",
)
MAX_URL_LENGTH = 2048


class RuleViolation(ValueError):
    """`field` is the request field to change; the message says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_url(url: str, *, allow_http: bool = False) -> str:
    """The receiver URL, stripped; raises `RuleViolation` naming what to change. Plain http
    only with `allow_http` (development)."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise RuleViolation(
            "url", f"give an absolute https URL of at most {MAX_URL_LENGTH} characters"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError as exc:
        raise RuleViolation(
            "url", "is not a valid URL; give e.g. https://crm.example.com/hooks"
        ) from exc
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise RuleViolation("url", "give an absolute https URL, e.g. https://crm.example.com/hooks")
    if parts.scheme == "http" and not allow_http:
        raise RuleViolation(
            "url",
            "must use https; plain http is accepted only in development "
            "(CLINICFLOW_WEBHOOK_ALLOW_HTTP)",
        )
    if parts.username is not None or parts.password is not None:
        raise RuleViolation(
            "url", "must not carry credentials; receivers authenticate requests by the signature"
        )
    if parts.fragment:
        raise RuleViolation("url", "must not have a #fragment (it is never sent)")
    return url


def check_event_types(wanted: Sequence[str], known: Collection[str]) -> list[str]:
    """The event types, deduplicated and sorted; ["*"] for every event."""
    if not wanted:
        raise RuleViolation(
            "event_types", f'list at least one event type, or "{ALL_EVENTS}" for all'
        )
    if ALL_EVENTS in wanted:
        if len(set(wanted)) > 1:
            raise RuleViolation(
                "event_types", f'"{ALL_EVENTS}" already means every event; list it alone'
            )
        return [ALL_EVENTS]
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise RuleViolation(
            "event_types",
            f"unknown {', '.join(unknown)}; choose from {', '.join(sorted(known))} "
            f'or "{ALL_EVENTS}"',
        )
    return sorted(set(wanted))


def matches(event_types: Collection[str], event_type: str) -> bool:
    return ALL_EVENTS in event_types or event_type in event_types
