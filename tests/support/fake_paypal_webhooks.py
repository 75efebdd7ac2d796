"""PayPal's webhook deliveries as the fake makes them, and its verify-webhook-signature.

PayPal signs `transmission_id|transmission_time|webhook_id|crc32(body)` with its RSA key;
here an HMAC with a key only the fake knows stands in, since the client never checks the
signature itself: it can only ask verify-webhook-signature, as with the real PayPal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
import zlib
from datetime import datetime
from typing import Any

from support.fake_http import Reply, json_reply
from support.fake_paypal_wire import iso, paypal_error, paypal_id

WEBHOOK_ID = "8PT597110X687430LKGECATA"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-aaa"
FIELDS = (
    "auth_algo",
    "cert_url",
    "transmission_id",
    "transmission_sig",
    "transmission_time",
    "webhook_id",
    "webhook_event",
)


class WebhookSigner:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._sent: dict[str, bytes] = {}  # transmission id → the body delivered

    def deliver(
        self, event_type: str, resource: dict[str, Any], webhook_id: str, now: datetime
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(
            {
                "id": "WH-" + paypal_id(),
                "event_version": "1.0",
                "create_time": iso(now),
                "resource_type": event_type.split(".")[-2].lower(),
                "resource_version": "2.0",
                "event_type": event_type,
                "summary": event_type,
                "resource": resource,
            }
        ).encode()
        transmission_id = str(uuid.uuid4())
        self._sent[transmission_id] = body
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": iso(now),
            "PAYPAL-TRANSMISSION-SIG": self._sign(transmission_id, iso(now), webhook_id, body),
            "PAYPAL-CERT-URL": CERT_URL,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "Content-Type": "application/json",
        }, body

    def verify(self, body: dict[str, Any]) -> Reply:
        missing = [field for field in FIELDS if not body.get(field)]
        if missing:
            return paypal_error(
                400, "VALIDATION_ERROR", f"{missing[0]} is required.", "MISSING_REQUIRED_PARAMETER"
            )
        sent = self._sent.get(body["transmission_id"])
        if sent is None or body["webhook_event"] != json.loads(sent):
            return json_reply(200, {"verification_status": "FAILURE"})
        expected = self._sign(
            body["transmission_id"], body["transmission_time"], body["webhook_id"], sent
        )
        genuine = hmac.compare_digest(body["transmission_sig"], expected)
        return json_reply(200, {"verification_status": "SUCCESS" if genuine else "FAILURE"})

    def _sign(self, transmission_id: str, sent_at: str, webhook_id: str, body: bytes) -> str:
        message = f"{transmission_id}|{sent_at}|{webhook_id}|{zlib.crc32(body)}".encode()
        return base64.b64encode(hmac.new(self._key, message, hashlib.sha256).digest()).decode()


def capture_resource(order: dict[str, Any]) -> dict[str, Any]:
    """The capture as PAYMENT.CAPTURE.* events carry it: naming its order."""
    capture: dict[str, Any] = order["purchase_units"][0]["payments"]["captures"][0]
    return capture | {"supplementary_data": {"related_ids": {"order_id": order["id"]}}}
