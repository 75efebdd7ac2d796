"""The push subscriptions' SQL. The endpoint and keys are sealed with the key ring here, on
the way in, and opened on the way out (`Device`): nothing else sees them sealed.

A browser belongs to the patient who registered it last: when a second patient signs in on a
shared browser and subscribes, the first gets no more notifications there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import upsert
from clinicflow.notifications.domain.push import (
    Device,
    PushSubscription,
    Registration,
    Saved,
    endpoint_hash,
    seal_context,
)
from clinicflow.notifications.tables import push_subscriptions as subs


class SqlPushSubscriptions:
    def __init__(self, conn: AsyncConnection, keys: KeyRing) -> None:
        self._conn = conn
        self._keys = keys

    async def save(self, browser: Registration, now: datetime) -> Saved:
        patient_id, subscription = browser.patient_id, browser.subscription
        digest = endpoint_hash(subscription.endpoint)
        before = await self._by_hash(digest)
        values: dict[str, object] = {
            "patient_id": patient_id,
            "endpoint_enc": self._seal(subscription.endpoint, "endpoint_enc", digest),
            "p256dh_enc": self._seal(subscription.p256dh, "p256dh_enc", digest),
            "auth_enc": self._seal(subscription.auth, "auth_enc", digest),
            "user_agent": (browser.user_agent or "")[:120] or None,
            "updated_at": now,
        }
        new = {"id": str(uuid.uuid4()), "endpoint_hash": digest, "created_at": now, **values}
        # An upsert, so two registrations of one browser at once still leave a single row.
        await upsert(self._conn, subs, new, ["endpoint_hash"], values)
        row = await self._by_hash(digest)
        assert row is not None
        owner = None if before is None else str(before["patient_id"])
        previous = owner if owner != patient_id else None
        return Saved(row["id"], row["created_at"], row["updated_at"], previous)

    async def remove(self, patient_id: str, endpoint: str) -> str | None:
        where = (subs.c.endpoint_hash == endpoint_hash(endpoint), subs.c.patient_id == patient_id)
        found = (await self._conn.execute(select(subs.c.id).where(*where))).scalar_one_or_none()
        if found is not None:
            await self._conn.execute(delete(subs).where(subs.c.id == found))
        return None if found is None else str(found)

    async def forget_patient(self, patient_id: str) -> int:
        gone = await self._conn.execute(delete(subs).where(subs.c.patient_id == patient_id))
        return int(gone.rowcount)

    async def newest(self, patient_id: str) -> datetime | None:
        query = (
            select(subs.c.updated_at)
            .where(subs.c.patient_id == patient_id)
            .order_by(subs.c.updated_at.desc())
            .limit(1)
        )
        found: datetime | None = (await self._conn.execute(query)).scalar_one_or_none()
        return found

    async def of(self, patient_id: str) -> list[Device]:
        query = select(subs).where(subs.c.patient_id == patient_id).order_by(subs.c.created_at)
        return [self._device(row) for row in (await self._conn.execute(query)).mappings()]

    async def forget(self, device_ids: Sequence[str]) -> None:
        if device_ids:
            await self._conn.execute(delete(subs).where(subs.c.id.in_(list(device_ids))))

    async def used(self, device_ids: Sequence[str], now: datetime) -> None:
        if device_ids:
            await self._conn.execute(
                update(subs).where(subs.c.id.in_(list(device_ids))).values(last_used_at=now)
            )

    async def _by_hash(self, digest: str) -> RowMapping | None:
        query = select(subs).where(subs.c.endpoint_hash == digest)
        return (await self._conn.execute(query)).mappings().first()

    # Bound to the row by its endpoint hash, not its id: an upsert of a known browser keeps
    # the row's id but writes values sealed before it knew that id.
    def _seal(self, value: str, column: str, digest: str) -> str:
        return self._keys.encrypt(value, context=seal_context(column), row=digest)

    def _open(self, token: str, column: str, digest: str) -> str:
        return self._keys.decrypt(token, context=seal_context(column), row=digest)

    def _device(self, row: RowMapping) -> Device:
        digest = row["endpoint_hash"]
        return Device(
            row["id"],
            PushSubscription(
                self._open(row["endpoint_enc"], "endpoint_enc", digest),
                self._open(row["p256dh_enc"], "p256dh_enc", digest),
                self._open(row["auth_enc"], "auth_enc", digest),
            ),
        )
