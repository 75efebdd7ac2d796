"""Web Push (RFC 8030) with aes128gcm payload encryption (RFC 8291) and VAPID (RFC 8292).

pywebpush's own senders use requests or aiohttp; this adapter reuses only its crypto: the
`WebPusher.encode` step (http_ece, aes128gcm) for the body and py_vapid (the VAPID signer
pywebpush's `webpush()` uses) for the Authorization header, and posts with the injected
httpx client, so timeouts, pooling and tests work as for every other HTTP adapter.
"""

from __future__ import annotations

import binascii
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid02  # type: ignore[import-untyped]

from clinicflow.adapters.messaging._http import is_transient, post, unavailable
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.notifications.ports import MessageRejected, SendResult, SubscriptionGone
from clinicflow.shared.clock import Clock, SystemClock

PROVIDER = "webpush"
ENCODING = "aes128gcm"
# RFC 8292 allows at most 24 h; pywebpush's webpush() uses 12 h, and so do we.
TOKEN_LIFETIME = timedelta(hours=12)


class WebPush:
    def __init__(
        self,
        vapid_private_key: str,
        vapid_subject: str,
        http: httpx.AsyncClient,
        clock: Clock | None = None,
    ) -> None:
        """`vapid_private_key`: a PEM P-256 key, or base64url of its raw 32 bytes or its DER."""
        if not vapid_subject.startswith(("mailto:", "https:")):
            raise ValueError("the VAPID subject is a mailto: or https: contact")
        self._vapid = _load_key(vapid_private_key)
        self._subject = vapid_subject
        self._http = http
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"WebPush(subject={self._subject!r})"

    async def send_push(
        self, subscription: PushSubscription, payload: bytes, ttl: int
    ) -> SendResult:
        if ttl < 0:
            raise ValueError("TTL is a number of seconds, zero or more")
        headers = {"TTL": str(ttl), **self._authorization(subscription.endpoint)}
        body = b""
        if payload:
            body = _encrypt(subscription, payload)
            headers["Content-Encoding"] = ENCODING
            headers["Content-Type"] = "application/octet-stream"
        response = await post(
            self._http, PROVIDER, subscription.endpoint, content=body, headers=headers
        )
        status = response.status_code
        if status in (200, 201, 202):  # 201 Created; Location names the push message
            return SendResult(PROVIDER, response.headers.get("Location"), "accepted")
        if status in (404, 410):
            raise SubscriptionGone(PROVIDER, f"subscription answered {status}", code=str(status))
        if is_transient(status):
            raise unavailable(PROVIDER, response)
        raise MessageRejected(PROVIDER, f"push service answered {status}", code=str(status))

    def _authorization(self, endpoint: str) -> dict[str, str]:
        url = urlsplit(endpoint)
        claims = {
            "aud": f"{url.scheme}://{url.netloc}",
            "exp": int((self._clock.now() + TOKEN_LIFETIME).timestamp()),
            "sub": self._subject,
        }
        # {"Authorization": "vapid t=<ES256 JWT>,k=<base64url uncompressed public key>"}
        signed = self._vapid.sign(claims)
        return {"Authorization": str(signed["Authorization"])}


def _load_key(key: str) -> Vapid02:
    try:
        if "-----BEGIN" in key:
            return Vapid02.from_pem(key.strip().encode())
        return Vapid02.from_string(key.strip())
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("the VAPID private key is not a PEM or base64url P-256 key") from exc


def _encrypt(subscription: PushSubscription, payload: bytes) -> bytes:
    # pywebpush imports aiohttp for its own sender (~0.13 s), in every process that wires the
    # app: imported by the first push sent (docs/architecture.md, "Start-up").
    from pywebpush import WebPusher, WebPushException  # type: ignore[import-untyped]

    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        encoded = WebPusher(info).encode(payload, ENCODING)
    except (WebPushException, ValueError, binascii.Error) as exc:
        # A subscription whose keys do not decode will never work: permanent.
        raise MessageRejected(PROVIDER, "the subscription's keys are invalid") from exc
    return bytes(encoded["body"])
