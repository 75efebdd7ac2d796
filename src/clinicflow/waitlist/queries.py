"""Read-side selects: the standing of every queued entry of a service, staff listings, and
the rows statistics are computed from.

Scores and positions are computed here, at read time, from `now`: the wait component grows
and engagement decays as time passes, so a stored score would be stale the next day. The
join answer, the token view and the staff list all call `standings`, so they agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.position import Ranked, positions
from clinicflow.waitlist.domain.scoring import Candidate, Engagement, score
from clinicflow.waitlist.domain.states import QUEUED
from clinicflow.waitlist.domain.stats import StatRow
from clinicflow.waitlist.tables import engagements, entries
from clinicflow.waitlist.views import Standing

_QUEUED = sorted(s.value for s in QUEUED)
_SCORED = (
    entries.c.id,
    entries.c.joined_at,
    entries.c.interest_level,
    entries.c.distance_mi,
    entries.c.status,
)


async def standings(
    conn: AsyncConnection, service: str, now: datetime, policy: WaitlistPolicy
) -> dict[str, Standing]:
    """Entry id → standing, for every queued entry of `service`."""
    rows, events = await _queued(conn, service, now)
    return _stand(rows, events, now, policy)


async def standing_if_added(
    conn: AsyncConnection, values: Mapping[str, Any], now: datetime, policy: WaitlistPolicy
) -> Standing:
    """The standing a new entry with `values` would have, without adding it: the answer to
    a join that must look new (a repeat join by someone who may not see the entry)."""
    rows, events = await _queued(conn, values["service"], now)
    candidate = _Unsaved(
        values["id"], values["joined_at"], values["interest_level"], values["distance_mi"]
    )
    return _stand([*rows, candidate], events, now, policy)[candidate.id]


@dataclass(frozen=True, slots=True)
class _Unsaved:
    id: str
    joined_at: datetime
    interest_level: int
    distance_mi: int | None


async def _queued(
    conn: AsyncConnection, service: str, now: datetime
) -> tuple[list[Any], dict[str, tuple[Engagement, ...]]]:
    e = entries.c
    rows = (
        await conn.execute(select(*_SCORED).where(e.service == service, e.status.in_(_QUEUED)))
    ).all()
    joined = engagements.join(entries, engagements.c.entry_id == e.id)
    events = await conn.execute(
        select(engagements.c.entry_id, engagements.c.kind, engagements.c.at)
        .select_from(joined)
        .where(e.service == service, e.status.in_(_QUEUED), engagements.c.at <= now)
    )
    return list(rows), _grouped(events)


async def standing_of(
    conn: AsyncConnection, row: Any, now: datetime, policy: WaitlistPolicy
) -> Standing:
    """One entry's standing: its place in the queue, or its score alone once it left it."""
    if row.status in QUEUED:
        return (await standings(conn, row.service, now, policy))[row.id]
    events = await conn.execute(
        select(engagements.c.entry_id, engagements.c.kind, engagements.c.at).where(
            engagements.c.entry_id == row.id, engagements.c.at <= now
        )
    )
    found = _candidate(row, _grouped(events).get(row.id, ()))
    return Standing(score(found, now, policy), None)


async def listed(conn: AsyncConnection, service: str | None, status: str | None) -> list[Row[Any]]:
    e = entries.c
    query = select(entries)
    if service is not None:
        query = query.where(e.service == service)
    if status is not None:
        query = query.where(e.status == status)
    return list((await conn.execute(query.order_by(e.service, e.joined_at, e.id))).all())


async def stat_rows(conn: AsyncConnection, tz: ZoneInfo) -> dict[str, list[StatRow]]:
    e = entries.c
    query = select(
        e.service, e.status, e.joined_at, e.zip3, e.distance_mi,
        e.notified_at, e.clicked_at, e.booked_at, e.paid_at,
    )  # fmt: skip
    by_service: dict[str, list[StatRow]] = defaultdict(list)
    for r in await conn.execute(query):
        by_service[r.service].append(
            StatRow(
                status=r.status,
                joined_on=r.joined_at.astimezone(tz).date(),
                zip3=r.zip3,
                distance_mi=None if r.distance_mi is None else float(r.distance_mi),
                notified_at=r.notified_at,
                clicked_at=r.clicked_at,
                booked_at=r.booked_at,
                paid_at=r.paid_at,
            )
        )
    return dict(by_service)


def _grouped(events: Iterable[Any]) -> dict[str, tuple[Engagement, ...]]:
    grouped: dict[str, list[Engagement]] = defaultdict(list)
    for entry_id, kind, at in events:
        grouped[entry_id].append(Engagement(kind, at))
    return {k: tuple(v) for k, v in grouped.items()}


def _candidate(row: Any, events: tuple[Engagement, ...]) -> Candidate:
    distance = None if row.distance_mi is None else float(row.distance_mi)
    return Candidate(row.id, row.joined_at, int(row.interest_level), distance, events)


def _stand(
    rows: Iterable[Any],
    events: dict[str, tuple[Engagement, ...]],
    now: datetime,
    policy: WaitlistPolicy,
) -> dict[str, Standing]:
    scores = {r.id: (r, score(_candidate(r, events.get(r.id, ())), now, policy)) for r in rows}
    ranked = positions(Ranked(i, s.total, r.joined_at) for i, (r, s) in scores.items())
    return {i: Standing(s, ranked[i]) for i, (_, s) in scores.items()}
