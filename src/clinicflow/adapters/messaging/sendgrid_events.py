"""SendGrid's Event Webhook behind notifications' `EmailEvents` port.

Signed Event Webhook: SendGrid signs each POST with ECDSA over P-256 and SHA-256, over the
`X-Twilio-Email-Event-Webhook-Timestamp` header's value followed by the raw body; the
signature (DER, base64) is in `X-Twilio-Email-Event-Webhook-Signature`, and the verification
key shown under Mail Settings is base64 of the DER SubjectPublicKeyInfo (PEM without armour).

The body is a JSON array of events; each names the message by `sg_message_id`, which is the
`X-Message-Id` the send answered (what SendGridEmail stored), a dot, and a suffix.

No timestamp tolerance is enforced: SendGrid documents none, and replaying a signed batch
changes nothing, since reports only move a message's status forward.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.adapters.messaging.sendgrid import PROVIDER
from clinicflow.notifications.ports import DeliveryReport, MessageStatus

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

# Delivery events only; engagement (open, click) and list events say nothing of delivery.
_STATUSES: dict[str, MessageStatus] = {
    "processed": "sent",
    "deferred": "sent",
    "delivered": "delivered",
    "bounce": "failed",
    "blocked": "failed",
    "dropped": "failed",
}
_SMTP_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")  # enhanced status code, e.g. 5.1.1
_MAX_ID_PARTS = 8


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or as PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ValueError("the SendGrid webhook key is not a base64 DER or PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("the SendGrid webhook key must be an ECDSA P-256 public key")
    return key


def verify_event_signature(
    key: ec.EllipticCurvePublicKey, body: bytes, signature: str, timestamp: str
) -> bool:
    try:
        der = base64.b64decode(signature.strip(), validate=True)
        key.verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def parse_events(body: bytes) -> list[DeliveryReport]:
    try:
        events = json.loads(body)
    except ValueError as exc:
        raise ValueError("the SendGrid event body is not JSON") from exc
    if not isinstance(events, list):
        raise ValueError("the SendGrid event body is a JSON array of events")
    reports = (_report(event) for event in events if isinstance(event, dict))
    return [r for r in reports if r is not None]


def _report(event: dict[str, Any]) -> DeliveryReport | None:
    kind = event.get("event")
    if kind == "bounce" and event.get("type") == "blocked":
        kind = "blocked"  # SendGrid reports blocks as bounces of type "blocked"
    status = _STATUSES.get(kind) if isinstance(kind, str) else None
    message_id = event.get("sg_message_id")
    if status is None or not isinstance(message_id, str) or not message_id:
        return None
    reason = None
    if status == "failed":
        # The event's `reason` and `response` texts often quote the address: codes only.
        code = event.get("status")
        reason = f"sendgrid {kind}" + (
            f" {code}" if isinstance(code, str) and _SMTP_STATUS.match(code) else ""
        )
    return DeliveryReport(PROVIDER, id_candidates(message_id), status, reason)


def id_candidates(sg_message_id: str) -> tuple[str, ...]:
    """Every dotted prefix of sg_message_id: the stored X-Message-Id is one of them (today
    the part before the first dot; older ids had dots of their own)."""
    parts = sg_message_id.split(".")[:_MAX_ID_PARTS]
    return tuple(".".join(parts[: n + 1]) for n in range(len(parts)))


class SendGridEvents:
    """`public_key` None: events are accepted unsigned only when `allow_unsigned` says so."""

    def __init__(self, public_key: str | None, *, allow_unsigned: bool = False) -> None:
        self._key = load_public_key(public_key) if public_key else None
        self._allow_unsigned = allow_unsigned

    def __repr__(self) -> str:
        return f"SendGridEvents(signed={self._key is not None})"

    def authentic(self, body: bytes, headers: Mapping[str, str]) -> bool:
        if self._key is None:
            return self._allow_unsigned
        lowered = {name.lower(): value for name, value in headers.items()}
        signature = lowered.get(SIGNATURE_HEADER.lower())
        timestamp = lowered.get(TIMESTAMP_HEADER.lower())
        if not signature or not timestamp:
            return False
        return verify_event_signature(self._key, body, signature, timestamp)

    def reports(self, body: bytes) -> list[DeliveryReport]:
        return parse_events(body)
