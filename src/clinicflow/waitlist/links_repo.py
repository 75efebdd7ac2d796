"""Write-side steps for launch waves, invitations, offers and nurture messages, run inside a
use case's transaction. Status changes are conditional (`WHERE status IN …`), so a row that
changed meanwhile (withdrawn, claimed) is left alone and the caller learns it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.waitlist.domain.states import LIVE_INVITATION, Status
from clinicflow.waitlist.tables import entries, invitations, nurtures, offers, waves

e = entries.c


async def move(
    conn: AsyncConnection,
    entry_id: str,
    from_: Collection[str],
    to: Status,
    now: datetime,
    **values: Any,
) -> Any:
    """The entry after moving it to `to`, or None when it was no longer in `from_`."""
    result = await conn.execute(
        update(entries)
        .where(e.id == entry_id, e.status.in_(list(from_)))
        .values(status=to.value, status_at=now, updated_at=now, version=e.version + 1, **values)
        .returning(entries)
    )
    return result.first()


async def set_status(
    conn: AsyncConnection,
    table: Table,
    row_id: str,
    from_: Collection[str],
    to: str,
    now: datetime,
    **values: Any,
) -> Any:
    """An invitation or offer moved from one of `from_` to `to`; None when it was not."""
    c = table.c
    result = await conn.execute(
        update(table)
        .where(c.id == row_id, c.status.in_(list(from_)))
        .values(status=to, status_at=now, **values)
        .returning(table)
    )
    return result.first()


async def by_token(
    conn: AsyncConnection, table: Table, token_hash: str, *, lock: bool = False
) -> Row[Any] | None:
    query = select(table).where(table.c.token_hash == token_hash)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def entry(conn: AsyncConnection, entry_id: str, *, lock: bool = False) -> Row[Any] | None:
    query = select(entries).where(e.id == entry_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


# -- launch waves -----------------------------------------------------------------------


async def last_wave(conn: AsyncConnection, service: str) -> int:
    found = await conn.execute(select(func.max(waves.c.number)).where(waves.c.service == service))
    return int(found.scalar_one() or 0)


async def live_invitations(conn: AsyncConnection, service: str, now: datetime) -> int:
    """Invitations of `service` that may still book: open and in their window, or claiming."""
    i = invitations.c
    query = select(func.count()).where(
        i.service == service,
        or_(and_(i.status == "sent", i.expires_at > now), i.status == "claiming"),
    )
    return int((await conn.execute(query)).scalar_one())


async def never_invited(conn: AsyncConnection, service: str) -> list[str]:
    """Waiting entries of `service` no wave has invited yet: a wave goes down the list once."""
    invited = exists().where(invitations.c.entry_id == e.id)
    query = select(e.id).where(e.service == service, e.status == "waiting", ~invited)
    return [str(i) for i in (await conn.execute(query)).scalars()]


async def add_wave(
    conn: AsyncConnection, service: str, number: int, now: datetime, capacity: int, invited: int
) -> None:
    """Raises IntegrityError when another process sent wave `number` first."""
    await conn.execute(
        insert(waves).values(
            service=service, number=number, started_at=now, capacity=capacity, invited=invited
        )
    )


async def add_invitation(
    conn: AsyncConnection,
    entry_id: str,
    service: str,
    wave: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
) -> str:
    invitation_id = str(uuid.uuid4())
    await conn.execute(
        insert(invitations).values(
            id=invitation_id,
            entry_id=entry_id,
            service=service,
            wave=wave,
            token_hash=token_hash,
            status="sent",
            expires_at=expires_at,
            created_at=now,
            status_at=now,
        )
    )
    return invitation_id


async def lapsed_invitations(conn: AsyncConnection, now: datetime, limit: int) -> list[Row[Any]]:
    i = invitations.c
    query = (
        select(invitations)
        .where(i.status == "sent", i.expires_at <= now)
        .order_by(i.expires_at, i.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def stale_claims(
    conn: AsyncConnection, table: Table, before: datetime, limit: int
) -> list[Row[Any]]:
    """Claims that started before `before` and never finished (a process stopped mid-way)."""
    c = table.c
    query = select(table).where(c.status == "claiming", c.status_at <= before).limit(limit)
    return list((await conn.execute(query)).all())


async def live_links_of(conn: AsyncConnection, entry_id: str) -> tuple[list[Any], list[Any]]:
    """The entry's open invitations and offers."""
    i, o = invitations.c, offers.c
    invs = await conn.execute(
        select(invitations).where(i.entry_id == entry_id, i.status.in_(LIVE_INVITATION))
    )
    offs = await conn.execute(select(offers).where(o.entry_id == entry_id, o.status == "made"))
    return list(invs.all()), list(offs.all())


# -- freed-slot offers ------------------------------------------------------------------


async def offer_candidates(
    conn: AsyncConnection,
    service: str,
    practitioner: str,
    hold_id: str,
    not_patient: str | None,
) -> list[Any]:
    """Waiting entries of `service` that take this practitioner (or any) and were not offered
    this slot before; preferred times are checked by the caller."""
    tried = exists().where(offers.c.entry_id == e.id, offers.c.hold_id == hold_id)
    query = select(e.id, e.preferred_practitioner, e.preferred_times, e.patient_id).where(
        e.service == service,
        e.status == "waiting",
        or_(e.preferred_practitioner.is_(None), e.preferred_practitioner == practitioner),
        ~tried,
    )
    if not_patient is not None:
        query = query.where(or_(e.patient_id.is_(None), e.patient_id != not_patient))
    return list((await conn.execute(query)).all())


async def add_offer(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    result = await conn.execute(insert(offers).values(**values).returning(offers))
    return result.one()


async def due_offers(conn: AsyncConnection, now: datetime, limit: int) -> list[Row[Any]]:
    o = offers.c
    query = (
        select(offers)
        .where(o.status == "made", o.expires_at <= now)
        .order_by(o.expires_at, o.id)
        .limit(limit)
        .with_for_update()
    )
    return list((await conn.execute(query)).all())


# -- nurture ----------------------------------------------------------------------------


async def nurture_due(conn: AsyncConnection, before: datetime, limit: int) -> list[Row[Any]]:
    """Waiting entries last contacted (or joined, if never) at or before `before`, with how
    many nurture messages they had."""
    n = nurtures.c
    last = (
        select(n.entry_id, func.max(n.sent_at).label("last"), func.count().label("sent"))
        .group_by(n.entry_id)
        .subquery()
    )
    since = func.coalesce(last.c["last"], e.joined_at)
    query = (
        select(entries, func.coalesce(last.c.sent, 0).label("sent_count"))
        .select_from(entries.outerjoin(last, last.c.entry_id == e.id))
        .where(e.status == "waiting", since <= before)
        .order_by(e.joined_at, e.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def add_nurture(
    conn: AsyncConnection, entry_id: str, seq: int, token_hash: str, now: datetime
) -> str | None:
    """The new message's id, or None when another process sent this one first."""
    nurture_id = str(uuid.uuid4())
    row = {
        "id": nurture_id,
        "entry_id": entry_id,
        "seq": seq,
        "token_hash": token_hash,
        "sent_at": now,
    }
    return nurture_id if await insert_ignoring_duplicates(conn, nurtures, [row]) == 1 else None


def ids(rows: Iterable[Any]) -> list[str]:
    return [str(r.id) for r in rows]
