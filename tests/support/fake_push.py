"""A fake Web Push service (RFC 8030) on loopback, and the browser side of a subscription.

The service verifies the VAPID header (RFC 8292: ES256 JWT checked with PyJWT against `k`,
`aud` = its origin, `exp` within 24 h of its clock) and decrypts the aes128gcm body with the
subscriber's private key by following RFC 8291 / RFC 8188 step by step with `cryptography`,
independently of http_ece, which the adapter uses to encrypt.
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clinicflow.notifications.domain.push import PushSubscription
from support.fake_http import Reply, Request
from support.fake_vendor import FakeVendor

_POINT = serialization.PublicFormat.UncompressedPoint
_X962 = serialization.Encoding.X962


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


class Subscriber:
    """A browser's push subscription: its P-256 key pair and 16-byte auth secret."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.public = self.private.public_key().public_bytes(_X962, _POINT)
        self.auth = os.urandom(16)

    def decrypt(self, body: bytes) -> bytes:
        salt, rs, id_len = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender_public = body[21 : 21 + id_len]
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
        shared = self.private.exchange(ec.ECDH(), sender)
        key_info = b"WebPush: info\x00" + self.public + sender_public
        ikm = _hkdf(self.auth, shared, key_info, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        base_nonce = int.from_bytes(_hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12), "big")
        records = body[21 + id_len :]
        plain = b""
        chunks = [records[i : i + rs] for i in range(0, len(records), rs)]
        for seq, chunk in enumerate(chunks):
            nonce = (base_nonce ^ seq).to_bytes(12, "big")
            padded = AESGCM(cek).decrypt(nonce, chunk, None).rstrip(b"\x00")
            delimiter = 2 if seq == len(chunks) - 1 else 1
            assert padded[-1] == delimiter, "bad record padding delimiter"
            plain += padded[:-1]
        return plain


@dataclass(frozen=True)
class Delivery:
    subscriber_id: str
    payload: bytes
    ttl: int
    claims: dict[str, object]
    headers: dict[str, str]


class FakePushService(FakeVendor):
    def __init__(self, application_key: ec.EllipticCurvePublicKey, now: datetime) -> None:
        super().__init__()
        self.application_key = application_key.public_bytes(_X962, _POINT)
        self.now = now
        self.subscribers: dict[str, Subscriber] = {}
        self.deliveries: list[Delivery] = []
        self.refusals: list[str] = []  # why requests were refused, for failing tests
        self.gone: set[str] = set()

    def subscribe(self) -> tuple[str, PushSubscription]:
        subscriber_id = uuid.uuid4().hex
        subscriber = self.subscribers[subscriber_id] = Subscriber()
        endpoint = f"{self.url}/push/{subscriber_id}"
        return subscriber_id, PushSubscription(
            endpoint, b64url(subscriber.public), b64url(subscriber.auth)
        )

    def _refuse(self, status: int, why: str) -> Reply:
        self.refusals.append(why)
        return Reply(status, {"Content-Type": "text/plain"}, why.encode())

    def _handle(self, request: Request) -> Reply:
        forced = self._forced()
        subscriber_id = request.path.removeprefix("/push/")
        subscriber = self.subscribers.get(subscriber_id)
        if request.method != "POST" or subscriber is None:
            return self._refuse(404, "no such subscription")
        if subscriber_id in self.gone:
            return self._refuse(410, "subscription expired")
        if forced is not None:
            return self._refuse(forced, "told to")
        ttl = request.headers.get("ttl", "")
        if not ttl.isdigit():
            return self._refuse(400, "TTL header missing")
        claims = self._vapid_claims(request.headers.get("authorization", ""))
        if isinstance(claims, Reply):
            return claims
        if request.headers.get("content-encoding") != "aes128gcm":
            return self._refuse(415, "Content-Encoding is not aes128gcm")
        payload = subscriber.decrypt(request.body)
        with self._lock:
            self.deliveries.append(
                Delivery(subscriber_id, payload, int(ttl), claims, request.headers)
            )
        return Reply(201, {"Location": f"{self.url}/message/{uuid.uuid4().hex}"})

    def _vapid_claims(self, header: str) -> dict[str, object] | Reply:
        scheme, _, rest = header.partition(" ")
        params = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        if scheme.lower() != "vapid" or "t" not in params or "k" not in params:
            return self._refuse(401, "no vapid t=…, k=… authorization")
        if unb64url(params["k"]) != self.application_key:
            return self._refuse(403, "k is not the application server key")
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(params["k"]))
        try:
            claims: dict[str, object] = jwt.decode(
                params["t"], key, algorithms=["ES256"], audience=self.url,
                options={"verify_exp": False, "require": ["aud", "exp", "sub"]},
            )  # fmt: skip
        except jwt.InvalidTokenError as exc:
            return self._refuse(401, f"bad JWT: {exc}")
        exp = datetime.fromtimestamp(int(str(claims["exp"])), self.now.tzinfo)
        if not self.now < exp <= self.now + timedelta(hours=24):
            return self._refuse(401, "exp is not within the next 24 h")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return self._refuse(401, "sub is not a mailto: or https: contact")
        return claims
