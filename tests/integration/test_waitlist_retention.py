"""Retention of withdrawn waitlist entries: deleted with what hangs off them once the policy's
days have passed; live entries stay whatever their age."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow import retention
from clinicflow.bootstrap import Container
from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.tables import engagements, entries
from support.waitlist import join, person

# Retention and the audit chain are SQL that each dialect must answer alike.
pytestmark = pytest.mark.both_databases

POLICY = RetentionPolicy()  # withdrawn entries: 365 days


async def count(container: Container, table: object, *where: object) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int((await conn.execute(query)).scalar_one())


async def test_withdrawn_entries_go_after_the_policy_days_and_live_ones_stay(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    gone = await join(client, person(1))
    staying = await join(client, person(2))
    await container.waitlist.entries.record_engagement(gone["id"], "clicked", clock.now())
    assert await count(container, engagements, engagements.c.entry_id == gone["id"]) == 1
    withdrawn = await client.delete("/v1/waitlist/mine", params={"token": gone["token"]})
    assert withdrawn.status_code == 200, withdrawn.text

    clock.advance(timedelta(days=364))
    assert (await retention.plan(container.db, POLICY, clock.now())).waitlist_entries == ()

    clock.advance(timedelta(days=2))
    due = await retention.plan(container.db, POLICY, clock.now())
    assert due.waitlist_entries == (gone["id"],)
    done = await retention.apply(container.db, POLICY, clock.now())

    assert done.waitlist_entries == (gone["id"],)
    assert await count(container, entries, entries.c.id == gone["id"]) == 0
    assert await count(container, engagements, engagements.c.entry_id == gone["id"]) == 0
    assert await count(container, entries, entries.c.id == staying["id"]) == 1
    row = next(r for r in retention.rows(done) if r.data == "cancelled waitlist entries")
    assert (row.count, row.ids) == (1, (gone["id"],))
