"""Patients' Web Push subscriptions: where they are kept, and what registering one checks.

A browser's subscription (its endpoint and keys) identifies a device, so all three are sealed
with the key ring, each column under its own associated data, and listed in `sealed.py` for
key rotation. The endpoint's SHA-256 finds a browser that registers again: an endpoint is a
long random capability URL, so its plain hash gives nothing to guess from (unlike an email,
which needs a keyed blind index).

A browser belongs to the patient who registered it last: when a second patient signs in on a
shared browser and subscribes, the first gets no more notifications there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.bus import Envelope
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.notifications.ports import PushSubscription
from clinicflow.notifications.tables import push_subscriptions as subs
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

SEALED_COLUMNS: tuple[str, ...] = ("endpoint_enc", "p256dh_enc", "auth_enc")
MAX_ENDPOINT = 2048
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_LOOPBACK_NAMES = ("localhost", "localhost.")


def seal_context(column: str) -> str:
    return f"notifications_push_subscription.{column.removesuffix('_enc')}"


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Device:
    """One registered browser, opened for sending."""

    id: str
    subscription: PushSubscription


@dataclass(frozen=True, slots=True)
class Saved:
    id: str
    created_at: datetime
    updated_at: datetime
    previous_patient_id: str | None  # another patient who had registered this browser before


# --- what a registration must look like ----------------------------------------------------


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


# --- the table -----------------------------------------------------------------------------


class PushStore:
    """The subscriptions table. Methods taking `conn` join the caller's transaction; the others
    (what the push channel uses while sending) run their own short ones."""

    def __init__(self, db: Database, keys: KeyRing, clock: Clock) -> None:
        self._db = db
        self._keys = keys
        self._clock = clock

    async def save(
        self,
        conn: AsyncConnection,
        patient_id: str,
        subscription: PushSubscription,
        user_agent: str | None,
    ) -> Saved:
        """Add the browser, or update it (keys, owner) when its endpoint is known already."""
        now = self._clock.now()
        digest = endpoint_hash(subscription.endpoint)
        before = await self._by_hash(conn, digest)
        values: dict[str, Any] = {
            "patient_id": patient_id,
            "endpoint_enc": self._seal(subscription.endpoint, "endpoint_enc", digest),
            "p256dh_enc": self._seal(subscription.p256dh, "p256dh_enc", digest),
            "auth_enc": self._seal(subscription.auth, "auth_enc", digest),
            "user_agent": (user_agent or "")[:120] or None,
            "updated_at": now,
        }
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        new = {"id": str(uuid.uuid4()), "endpoint_hash": digest, "created_at": now, **values}
        # An upsert, so two registrations of one browser at once still leave a single row.
        statement = dialect.insert(subs).values(**new)
        await conn.execute(
            statement.on_conflict_do_update(index_elements=["endpoint_hash"], set_=values)
        )
        row = await self._by_hash(conn, digest)
        assert row is not None
        previous = before.patient_id if before and before.patient_id != patient_id else None
        return Saved(row.id, row.created_at, row.updated_at, previous)

    async def remove(self, conn: AsyncConnection, patient_id: str, endpoint: str) -> str | None:
        """Delete the patient's own registration of `endpoint`; its id, or None if none."""
        where = (subs.c.endpoint_hash == endpoint_hash(endpoint), subs.c.patient_id == patient_id)
        found = (await conn.execute(select(subs.c.id).where(*where))).scalar_one_or_none()
        if found is not None:
            await conn.execute(delete(subs).where(subs.c.id == found))
        return None if found is None else str(found)

    async def forget_patient(self, patient_id: str) -> int:
        """Delete every browser the patient registered; how many there were."""
        async with self._db.write() as conn:
            gone = await conn.execute(delete(subs).where(subs.c.patient_id == patient_id))
        return int(gone.rowcount)

    async def newest(self, conn: AsyncConnection, patient_id: str) -> datetime | None:
        """When the patient last registered a browser; None when they have none."""
        query = (
            select(subs.c.updated_at)
            .where(subs.c.patient_id == patient_id)
            .order_by(subs.c.updated_at.desc())
            .limit(1)
        )
        found: datetime | None = (await conn.execute(query)).scalar_one_or_none()
        return found

    async def of(self, patient_id: str) -> list[Device]:
        query = select(subs).where(subs.c.patient_id == patient_id).order_by(subs.c.created_at)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [self._device(r) for r in rows]

    async def forget(self, device_ids: Sequence[str]) -> None:
        if device_ids:
            async with self._db.write() as conn:
                await conn.execute(delete(subs).where(subs.c.id.in_(list(device_ids))))

    async def used(self, device_ids: Sequence[str]) -> None:
        if device_ids:
            async with self._db.write() as conn:
                await conn.execute(
                    update(subs)
                    .where(subs.c.id.in_(list(device_ids)))
                    .values(last_used_at=self._clock.now())
                )

    async def _by_hash(self, conn: AsyncConnection, digest: str) -> Any:
        return (await conn.execute(select(subs).where(subs.c.endpoint_hash == digest))).first()

    # Bound to the row by its endpoint hash, not its id: an upsert of a known browser keeps
    # the row's id but writes values sealed before it knew that id.
    def _seal(self, value: str, column: str, digest: str) -> str:
        return self._keys.encrypt(value, context=seal_context(column), row=digest)

    def _open(self, token: str, column: str, digest: str) -> str:
        return self._keys.decrypt(token, context=seal_context(column), row=digest)

    def _device(self, row: Any) -> Device:
        return Device(
            row.id,
            PushSubscription(
                self._open(row.endpoint_enc, "endpoint_enc", row.endpoint_hash),
                self._open(row.p256dh_enc, "p256dh_enc", row.endpoint_hash),
                self._open(row.auth_enc, "auth_enc", row.endpoint_hash),
            ),
        )


class ErasedPatients:
    """A de-identified patient's browsers are forgotten: no device of theirs stays linked to
    the record (the bus subscriber for `patient.deidentified`)."""

    name = "notifications_erasure"
    types = frozenset({"patient.deidentified"})

    def __init__(self, store: PushStore) -> None:
        self._store = store

    async def handle(self, event: Envelope) -> None:
        await self._store.forget_patient(str(event.payload["patient_id"]))
