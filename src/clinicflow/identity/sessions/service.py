"""Server-side sessions for staff (after password and TOTP) and patients (after a one-time
link). The token is opaque (`cfs_…`), sent as a cookie or a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.domain.sessions import SessionState, explain, should_touch, state
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.secrets_ import digest, new_token
from clinicflow.identity.tables import sessions, users
from clinicflow.infra.db import Database
from clinicflow.shared.clock import Clock

PREFIX = "cfs_"


@dataclass(frozen=True, slots=True)
class OpenSession:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionOwner:
    kind: Literal["staff", "patient"]
    user_id: str | None
    role: str | None
    practitioner: str | None
    patient_id: str | None


class SessionStore:
    def __init__(self, db: Database, clock: Clock, idle: timedelta, lifetime: timedelta) -> None:
        self._db = db
        self._clock = clock
        self.idle = idle
        self._lifetime = lifetime

    async def open(
        self,
        conn: AsyncConnection,
        *,
        user_id: str | None = None,
        patient_id: str | None = None,
    ) -> OpenSession:
        now = self._clock.now()
        token = new_token(PREFIX)
        expires = now + self._lifetime
        await conn.execute(
            insert(sessions).values(
                token_hash=digest(token),
                kind="staff" if user_id else "patient",
                user_id=user_id,
                patient_id=patient_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
            )
        )
        return OpenSession(token, expires)

    async def resolve(self, token: str) -> SessionOwner:
        now = self._clock.now()
        key = digest(token)
        s, u = sessions.c, users.c
        query = (
            select(s.kind, s.user_id, s.patient_id, s.last_seen_at, s.expires_at, s.revoked_at)
            .add_columns(u.role, u.practitioner, u.active)
            .outerjoin(users, u.id == s.user_id)
            .where(s.token_hash == key)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise TokenInvalid("unknown session; sign in again")
        found = state(
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            idle=self.idle,
            now=now,
        )
        if found is not SessionState.ACTIVE:
            raise TokenInvalid(explain(found))
        if row.kind == "staff" and not row.active:
            raise TokenInvalid("this account is disabled; ask an administrator")
        if should_touch(row.last_seen_at, now):
            async with self._db.write() as conn:
                await conn.execute(
                    update(sessions).where(s.token_hash == key).values(last_seen_at=now)
                )
        return SessionOwner(row.kind, row.user_id, row.role, row.practitioner, row.patient_id)

    async def revoke(self, token: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(sessions)
                .where(sessions.c.token_hash == digest(token), sessions.c.revoked_at.is_(None))
                .values(revoked_at=self._clock.now())
            )

    async def revoke_user(self, conn: AsyncConnection, user_id: str) -> None:
        await conn.execute(
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=self._clock.now())
        )
