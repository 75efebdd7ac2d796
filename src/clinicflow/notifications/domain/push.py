"""A patient's browser registered for Web Push: what a registration must look like, and the
values the subscriptions' store keeps and gives back.

A browser's subscription (its endpoint and keys) identifies a device, so all three are sealed
with the key ring, each column under its own associated data (`seal_context`), and listed in
`sealed.py` for key rotation (`SEALED_COLUMNS`). The endpoint's SHA-256 finds a browser that
registers again: an endpoint is a long random capability URL, so its plain hash gives nothing
to guess from (unlike an email, which needs a keyed blind index).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.shared.errors import InvalidRequest

SEALED_COLUMNS: tuple[str, ...] = ("endpoint_enc", "p256dh_enc", "auth_enc")
MAX_ENDPOINT = 2048
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_LOOPBACK_NAMES = ("localhost", "localhost.")


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """What the browser's PushManager.subscribe() returned; keys are base64url."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class Registration:
    """A patient's browser as it registers: its subscription, and the User-Agent it sent."""

    patient_id: str
    subscription: PushSubscription
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """One registered browser, opened for sending."""

    id: str
    subscription: PushSubscription


@dataclass(frozen=True, slots=True)
class Saved:
    """A browser registered (again)."""

    id: str
    created_at: datetime
    updated_at: datetime
    previous_patient_id: str | None  # another patient who had registered this browser before


def seal_context(column: str) -> str:
    return f"notifications_push_subscription.{column.removesuffix('_enc')}"


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def checked_subscription(
    endpoint: str, p256dh: str, auth: str, *, allow_loopback: bool
) -> PushSubscription:
    """The subscription as the browser's PushSubscription.toJSON() gives it, or
    `InvalidRequest` saying which part to change. Keys come back unpadded base64url."""
    check_endpoint(endpoint, allow_loopback=allow_loopback)
    point = _b64url(p256dh, "keys.p256dh")
    if len(point) != 65 or point[0] != 4:
        raise InvalidRequest(
            "keys.p256dh must be the browser's P-256 public key as an uncompressed point: "
            f"65 bytes starting with 0x04 (this one is {len(point)} bytes)",
            field="keys.p256dh",
        )
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidRequest(
            "keys.p256dh is not a point on the P-256 curve; send the key the browser gave",
            field="keys.p256dh",
        ) from None
    secret = _b64url(auth, "keys.auth")
    if len(secret) != 16:
        raise InvalidRequest(
            f"keys.auth must be the 16-byte auth secret (this one is {len(secret)} bytes)",
            field="keys.auth",
        )
    return PushSubscription(endpoint, _text(point), _text(secret))


def check_endpoint(endpoint: str, *, allow_loopback: bool) -> None:
    """https to the browser's push service. The server posts to this URL, so a loopback one
    (http or not) is accepted only where allowed (development and tests), never by default."""
    url = urlsplit(endpoint)
    host = url.hostname or ""
    if len(endpoint) > MAX_ENDPOINT or not host or url.username or url.password:
        raise InvalidRequest(
            f"endpoint must be the push service URL the browser gave (an absolute https URL "
            f"of at most {MAX_ENDPOINT} characters, without user or password)",
            field="endpoint",
        )
    loopback = _is_loopback(host)
    if loopback and not allow_loopback:
        raise InvalidRequest(
            "endpoint points at this server's own machine; use the browser's push service URL",
            field="endpoint",
        )
    if url.scheme != "https" and not (url.scheme == "http" and loopback):
        raise InvalidRequest("endpoint must be an https URL", field="endpoint")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _b64url(value: str, name: str) -> bytes:
    if not _B64URL.fullmatch(value):
        raise InvalidRequest(
            f"{name} must be base64url (letters, digits, '-' and '_'), as "
            "PushSubscription.toJSON() gives it",
            field=name,
        )
    bare = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{name} is not valid base64url", field=name) from None


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
