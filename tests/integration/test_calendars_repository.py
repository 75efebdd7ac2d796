"""The busy store's SQL on each database: plans carried out as the in-memory store does
(the merge rules' model), the availability read, and sync states round-tripped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicflow.calendars.domain.busy import BusyInterval, Delta, ShowAs, Snapshot, SyncState
from clinicflow.calendars.domain.merge import Key, key_of, merge, plan_delta, plan_snapshot
from clinicflow.calendars.repository import SqlCalendarsUnitOfWork
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import Factory

pytestmark = pytest.mark.both_databases
BASE = datetime(2026, 11, 23, tzinfo=UTC)


def when(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def busy(eid: str, lo: int, hi: int, show_as: ShowAs = ShowAs.BUSY) -> BusyInterval:
    return BusyInterval("microsoft", "doctor1", eid, when(lo), when(hi), show_as, etag="x")


async def stored(units: Factory[SqlCalendarsUnitOfWork]) -> dict[Key, BusyInterval]:
    async with units.reading() as uow:
        found = await uow.busy.held("microsoft", "doctor1", [], (when(-(10**6)), when(10**6)))
    return {key_of(i): i for i in found}


async def merged(units: Factory[SqlCalendarsUnitOfWork], answer: Snapshot | Delta) -> None:
    async with units() as uow:
        if isinstance(answer, Snapshot):
            ids = [i.external_id for i in answer.intervals]
            held = await uow.busy.held(
                "microsoft", "doctor1", ids, (answer.window_start, answer.window_end)
            )
            plan = plan_snapshot(held, answer)
        else:
            ids = [i.external_id for i in answer.upserted] + list(answer.removed)
            plan = plan_delta(await uow.busy.held("microsoft", "doctor1", ids), answer)
        await uow.busy.carry_out(plan, when(0))
        await uow.commit()


answers = st.lists(
    st.one_of(
        st.builds(
            lambda lo, n, items: Snapshot(
                "microsoft",
                "doctor1",
                when(lo),
                when(lo + n),
                tuple({i.external_id: i for i in items}.values()),
            ),
            st.integers(0, 2000),
            st.integers(60, 2000),
            st.lists(
                st.builds(busy, st.sampled_from("abcdef"), st.integers(0, 1500), st.just(3000)),
                max_size=4,
            ),
        ),
        st.builds(
            lambda items, removed: Delta(
                "microsoft",
                "doctor1",
                tuple({i.external_id: i for i in items}.values()),
                tuple(removed),
            ),
            st.lists(
                st.builds(busy, st.sampled_from("abcdef"), st.integers(0, 1500), st.just(3000)),
                max_size=3,
            ),
            st.lists(st.sampled_from("abcdef"), max_size=3),
        ),
    ),
    min_size=1,
    max_size=5,
)


async def test_plans_carried_out_in_sql_leave_what_the_rules_say(database_url: str) -> None:
    db = Database(database_url)
    units = Factory(db, SqlCalendarsUnitOfWork)
    model: dict[Key, BusyInterval] = {}

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(answers)
    def run(sequence: list[Snapshot | Delta]) -> None:
        sequences.append(sequence)

    sequences: list[list[Snapshot | Delta]] = []
    run()
    try:
        for sequence in sequences:
            for answer in sequence:
                model = merge(model, answer)
                await merged(units, answer)
            assert await stored(units) == model
    finally:
        await db.dispose()


async def test_availability_reads_only_blocking_time_of_the_asked_practitioners(
    database_url: str,
) -> None:
    db = Database(database_url)
    units = Factory(db, SqlCalendarsUnitOfWork)
    try:
        await merged(
            units,
            Delta(
                "microsoft",
                "doctor1",
                (busy("a", 0, 60), busy("b", 120, 180, ShowAs.FREE), busy("c", 600, 700)),
            ),
        )
        async with units.reading() as uow:
            found = await uow.busy.blocking(["doctor1", "doctor2"], when(30), when(650))
            counts = await uow.busy.counts()
        assert sorted(i.external_id for i in found) == ["a", "c"]
        assert counts == {("microsoft", "doctor1"): 3}
    finally:
        await db.dispose()


async def test_sync_states_round_trip(database_url: str) -> None:
    db = Database(database_url)
    units = Factory(db, SqlCalendarsUnitOfWork)
    state = SyncState(
        "microsoft",
        "doctor1",
        cursor="https://graph.example/delta?token=" + "x" * 900,
        subscription_id="sub-1",
        subscription_expires=when(4000),
        last_full_sync=when(0),
        last_success=when(5),
        consecutive_errors=2,
        backoff_until=when(7),
        extra={"etag": "w/1"},
    )
    try:
        async with units() as uow:
            await uow.states.put(SyncState("microsoft", "doctor1"))
            await uow.states.put(state)  # replaces
            await uow.commit()
        async with units.reading() as uow:
            assert await uow.states.get("microsoft", "doctor1") == state
            assert await uow.states.of(["doctor1"]) == [state]
            assert await uow.states.all() == [state]
            assert await uow.states.get("calendly", "doctor1") is None
    finally:
        await db.dispose()
