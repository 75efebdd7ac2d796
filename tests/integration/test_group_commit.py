"""Concurrent bookings share a transaction (infra/group_commit.py), and each still gets the
answer it would have had alone: on SQLite and PostgreSQL, through the HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from clinicflow.booking.errors import SlotUnavailable
from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.infra.audit import audit_log, verify
from clinicflow.infra.group_commit import GroupCommit
from clinicflow.infra.outbox import Event, outbox
from clinicflow.infra.unit_of_work import Factory, UnitOfWork
from clinicflow.patients.tables import patients
from support.api import booking

# Races and locking: each database serializes writers its own way. Each race opens up to
# ~60 PostgreSQL connections, so one xdist worker runs them all, one at a time.
pytestmark = [pytest.mark.both_databases, pytest.mark.xdist_group("serial")]

# Free starts of doctor1 on Wednesday 2026-11-25, from the API, an hour or more apart (no
# two can touch, whatever the buffers).
QUERY = (
    "/v1/availability?service=alternative_medicine&visit_type=initial&duration=20"
    "&practitioner=doctor1&start=2026-11-25&end=2026-11-25"
)
COUNT = 6


async def _starts(client: httpx.AsyncClient) -> list[str]:
    free = (await client.get(QUERY)).json()["slots"]
    picked: list[str] = []
    for slot in free:
        start = datetime.fromisoformat(slot["start"])
        if not picked or start - datetime.fromisoformat(picked[-1]) >= timedelta(hours=1):
            picked.append(slot["start"])
    assert len(picked) >= COUNT, free
    return picked[:COUNT]


async def _post_all(client: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[Any]:
    return list(await asyncio.gather(*(client.post("/v1/bookings", json=b) for b in bodies)))


def _commits(container: Container) -> list[int]:
    """Counts the database's commits from now on (an observer, not a stand-in)."""
    seen = [0]

    def committed(_conn: Any) -> None:
        seen[0] += 1

    event.listen(container.db.engine.sync_engine, "commit", committed)
    return seen


async def _count(container: Container, table: Any) -> int:
    async with container.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_concurrent_bookings_share_commits_and_each_is_whole(
    client: httpx.AsyncClient, container: Container
) -> None:
    starts = await _starts(client)
    commits = _commits(container)
    made = await _post_all(client, [booking(start, n) for n, start in enumerate(starts, 1)])
    assert [r.status_code for r in made] == [201] * len(starts), [r.text for r in made]
    # Fewer transactions than bookings (each batch also seals its audit rows once).
    assert commits[0] < 2 * len(starts)
    assert await _count(container, appointments) == len(starts)
    assert await _count(container, patients) == len(starts)
    async with container.db.read() as conn:
        events = (await conn.execute(select(outbox.c.type))).scalars().all()
        chain = await verify(conn)
        audited = (await conn.execute(select(func.count()).select_from(audit_log))).scalar()
    assert sorted(events).count("booking.created") == len(starts)
    assert chain.ok
    assert (audited, chain.pending) == (len(starts), 0)


async def test_a_batch_with_a_taken_slot_falls_back_and_leaves_nothing_of_the_loser(
    client: httpx.AsyncClient, container: Container
) -> None:
    # Two patients want the second start; the rest are free. Batched together, the second
    # one fails the batch; every request is then run alone and gets its own answer.
    starts = await _starts(client)
    bodies = [booking(start, n) for n, start in enumerate(starts, 1)]
    bodies.append(booking(starts[1], 99))
    made = await _post_all(client, bodies)
    statuses = [r.status_code for r in made]
    assert statuses.count(201) == len(starts)
    assert statuses.count(409) == 1
    assert await _count(container, appointments) == len(starts)
    # The loser's patient record went with its rolled-back transaction.
    assert await _count(container, patients) == len(starts)


async def test_the_same_idempotency_key_in_one_batch_books_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    starts = await _starts(client)
    keyed = {"Idempotency-Key": "same-click-twice"}
    body = booking(starts[0], 1)
    others = [booking(start, n) for n, start in enumerate(starts[1:], 2)]
    made = await asyncio.gather(
        client.post("/v1/bookings", json=body, headers=keyed),
        client.post("/v1/bookings", json=body, headers=keyed),
        *(client.post("/v1/bookings", json=b) for b in others),
    )
    first, second = made[0], made[1]
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    replayed = [r.headers.get("Idempotent-Replayed") for r in (first, second)]
    assert replayed.count("true") == 1
    assert await _count(container, appointments) == len(starts)


async def test_each_booking_in_a_batch_keeps_its_callers_trace(
    client: httpx.AsyncClient, container: Container
) -> None:
    starts = await _starts(client)
    traces = [f"{n:032x}" for n in range(1, len(starts) + 1)]
    made = await asyncio.gather(
        *(
            client.post(
                "/v1/bookings",
                json=booking(start, n),
                headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
            )
            for n, (start, trace) in enumerate(zip(starts, traces, strict=True), 1)
        )
    )
    assert all(r.status_code == 201 for r in made)
    async with container.db.read() as conn:
        rows = (await conn.execute(select(outbox.c.aggregate_id, outbox.c.traceparent))).all()
    by_booking = {aggregate: tp.split("-")[1] for aggregate, tp in rows}
    assert [by_booking[r.json()["id"]] for r in made] == traces


def _event(name: str) -> Event:
    return Event(name, "test", name, datetime(2026, 11, 24, 15, 0, tzinfo=UTC), {})


def _batches(container: Container, **options: Any) -> GroupCommit[UnitOfWork]:
    return GroupCommit(Factory(container.db, UnitOfWork), **options)


def _steps(
    name: str, fails: dict[str, Exception]
) -> Callable[[UnitOfWork], Coroutine[Any, Any, str]]:
    async def run(uow: UnitOfWork) -> str:
        uow.publish(_event(f"batched.{name}"))
        if name in fails:
            raise fails[name]
        return f"batched {name}"

    return run


def _alone(container: Container, name: str) -> Callable[[], Coroutine[Any, Any, str]]:
    async def run() -> str:
        if name == "b":
            raise ValueError("b cannot be written alone either")
        async with UnitOfWork(container.db) as uow:
            uow.publish(_event(f"alone.{name}"))
            await uow.commit()
        return f"alone {name}"

    return run


async def _written(container: Container) -> list[str]:
    async with container.db.read() as conn:
        return sorted((await conn.execute(select(outbox.c.type))).scalars().all())


async def _four_in_one_batch(container: Container, fails: dict[str, Exception]) -> list[Any]:
    """Steps a to d run together in one batch, `fails` naming the steps that raise."""
    batches = _batches(container, drains=1)
    return list(
        await asyncio.gather(
            *(batches.run(_steps(n, fails), _alone(container, n)) for n in "abcd"),
            return_exceptions=True,
        )
    )


async def test_a_failing_step_is_rolled_back_alone_and_the_rest_of_its_batch_commits(
    container: Container,
) -> None:
    answers = await _four_in_one_batch(container, {"b": ValueError("b cannot be written")})
    assert answers[0] == "batched a"
    assert isinstance(answers[1], ValueError)
    assert str(answers[1]) == "b cannot be written alone either"  # a plain error: run alone
    assert answers[2:] == ["batched c", "batched d"]
    # b's event went with its savepoint; the others' committed.
    assert await _written(container) == ["batched.a", "batched.c", "batched.d"]


@pytest.mark.parametrize(
    ("step", "committed"),
    [
        pytest.param("c", ["batched.a", "batched.b", "batched.d"], id="in_the_middle"),
        # the first step failing leaves the rest to the next batch
        pytest.param("a", ["batched.b", "batched.c", "batched.d"], id="first"),
    ],
)
async def test_a_refused_step_gets_its_own_answer_and_the_others_commit(
    container: Container, step: str, committed: list[str]
) -> None:
    refused = SlotUnavailable("taken by an earlier member of the batch")
    answers = await _four_in_one_batch(container, {step: refused})
    # the refused step never ran alone
    assert answers == [refused if n == step else f"batched {n}" for n in "abcd"]
    assert await _written(container) == committed


async def test_a_deferred_step_runs_in_a_later_batch(container: Container) -> None:
    class Busy(Exception):
        pass

    batches = _batches(container, drains=1, defer=(Busy,))
    tries: list[str] = []

    def steps(name: str) -> Callable[[UnitOfWork], Coroutine[Any, Any, str]]:
        async def run(uow: UnitOfWork) -> str:
            tries.append(name)
            uow.publish(_event(f"batched.{name}"))
            if name in "cd" and tries.count(name) == 1:
                raise Busy
            return f"batched {name}"

        return run

    answers = await asyncio.gather(*(batches.run(steps(n), _alone(container, n)) for n in "abcd"))
    assert answers == ["batched a", "batched b", "batched c", "batched d"]
    assert tries == ["a", "b", "c", "d", "c", "d"]  # c and d: a second batch
    assert await _written(container) == ["batched.a", "batched.b", "batched.c", "batched.d"]


async def _turns() -> None:
    """Let every task that is ready run up to its next wait (no clock involved)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_caller_that_has_gone_is_skipped(container: Container) -> None:
    batches = _batches(container, drains=1)
    gate = asyncio.Event()

    async def held() -> str:  # the drain's current work, until the gate opens
        await gate.wait()
        return "held"

    first = asyncio.ensure_future(batches.run(_steps("x", {}), held))
    await _turns()  # the drain took x (alone: the queue held only it)
    calls = [asyncio.ensure_future(batches.run(_steps(n, {}), _alone(container, n))) for n in "bcd"]
    await _turns()  # b, c, d are queued behind x
    calls[1].cancel()  # c's client disconnected before its turn came
    gate.set()
    answers = await asyncio.gather(first, *calls, return_exceptions=True)
    assert answers[0] == "held"
    assert isinstance(answers[2], asyncio.CancelledError)
    assert [answers[1], answers[3]] == ["batched b", "batched d"]
    assert await _written(container) == ["batched.b", "batched.d"]  # nothing for c


async def test_a_batch_that_succeeds_answers_from_the_shared_transaction(
    container: Container,
) -> None:
    batches = _batches(container, drains=1)
    commits = _commits(container)

    async def steps(uow: UnitOfWork) -> int:
        count = select(func.count()).select_from(outbox)
        return int((await uow.connection.execute(count)).scalar_one())

    async def alone() -> int:
        raise AssertionError("a batch that succeeds never runs anyone alone")

    answers = await asyncio.gather(*(batches.run(steps, alone) for _ in range(5)))
    assert answers == [0] * 5
    assert commits[0] == 1
