"""Sessions and patients' sign-in links in SQL: rows in, frozen dataclasses out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.sessions.domain.link import LoginLink
from clinicflow.identity.sessions.domain.session import Session
from clinicflow.identity.tables import login_links, sessions, users
from clinicflow.infra.columns import stored
from clinicflow.shared.records import from_attributes

_s, _u, _l = sessions.c, users.c, login_links.c
_FIND = (
    select(
        _s.token_hash,
        _s.kind,
        _s.user_id,
        _s.patient_id,
        _s.created_at,
        _s.last_seen_at,
        _s.expires_at,
        _s.revoked_at,
    )
    .add_columns(_u.role, _u.practitioner, _u.active)
    .outerjoin(users, _u.id == _s.user_id)
)


class SqlSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: Session) -> None:
        await self._conn.execute(insert(sessions).values(stored(sessions, session)))

    async def find(self, token_hash: str) -> Session | None:
        row = (await self._conn.execute(_FIND.where(_s.token_hash == token_hash))).first()
        if row is None:
            return None
        active = None if row.active is None else bool(row.active)
        return from_attributes(Session, row, account_active=active)

    async def touch(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(sessions).where(_s.token_hash == token_hash).values(last_seen_at=now)
        )

    async def revoke(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(sessions)
            .where(_s.token_hash == token_hash, _s.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user(self, user_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(sessions)
            .where(_s.user_id == user_id, _s.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class SqlLinkRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, link: LoginLink) -> None:
        await self._conn.execute(insert(login_links).values(stored(login_links, link)))

    async def claim(self, token_hash: str, now: datetime) -> str | None:
        # One conditional update: of two requests with one link, only one matches.
        won = await self._conn.execute(
            update(login_links)
            .where(_l.token_hash == token_hash, _l.used_at.is_(None), _l.expires_at > now)
            .values(used_at=now)
            .returning(_l.patient_id)
        )
        patient_id = won.scalar_one_or_none()
        return None if patient_id is None else str(patient_id)

    async def find(self, token_hash: str) -> LoginLink | None:
        query = select(login_links).where(_l.token_hash == token_hash)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return LoginLink(
            row.token_hash, row.patient_id, row.created_at, row.expires_at, row.used_at
        )
