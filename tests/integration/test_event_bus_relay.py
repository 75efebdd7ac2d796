"""The relay: a crash before the commit loses nothing; parallel relays never share a row."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.bus import Published
from clinicflow.infra.db import Database
from clinicflow.infra.relay import Relay
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.event_bus import (
    booking_event,
    effects,
    projector_bus,
    record_events,
)

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases


class RelayDied(RuntimeError):
    pass


class Collecting:
    """A transport that keeps what it was handed; optionally dies after receiving it, or
    holds its first batch (and the relay's transaction) until told to let go."""

    def __init__(self, *, die: bool = False, hold: bool = False) -> None:
        self.received: list[int] = []
        self.die = die
        self.hold = hold
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def prepare(self) -> None: ...

    async def publish(self, conn: AsyncConnection, items: Sequence[Published]) -> None:
        self.received += [item.seq for item in items]
        if self.die:
            raise RelayDied
        if self.hold and not self.holding.is_set():
            self.holding.set()
            await self.release.wait()

    async def consume_once(self) -> int:
        return 0

    async def run(self, stop: asyncio.Event) -> None: ...

    async def redeliver(self, item: Published, subscriber: str) -> None: ...

    async def aclose(self) -> None: ...


async def test_a_relay_that_dies_before_marking_the_rows_loses_nothing(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    events = [booking_event(clock, f"b-{n}") for n in range(5)]
    await record_events(db, *events)
    dying = Collecting(die=True)

    with pytest.raises(RelayDied):
        await Relay(db, clock, dying, batch_size=3).publish_pending()

    assert len(dying.received) == 3  # the transport had the batch when the relay died
    _, bus = projector_bus(settings, db, clock)
    assert (await bus.lag()).unpublished == 5
    assert (await bus.run_once()).published == 5
    assert sorted(await effects(db, "projector")) == sorted(e.event_id for e in events)
    await bus.aclose()


async def test_relays_running_together_publish_every_row_once(
    db: Database, clock: FixedClock
) -> None:
    await record_events(db, *(booking_event(clock, f"b-{n}") for n in range(120)))
    first, second = Collecting(), Collecting()

    await asyncio.gather(
        Relay(db, clock, first, batch_size=10).publish_pending(),
        Relay(db, clock, second, batch_size=10).publish_pending(),
    )

    assert sorted(first.received + second.received) == list(range(1, 121))


# SKIP LOCKED is PostgreSQL's: SQLite runs one writer at a time (the test above).
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_second_relay_skips_the_rows_the_first_has_locked(
    db: Database, clock: FixedClock
) -> None:
    await record_events(db, *(booking_event(clock, f"b-{n}") for n in range(25)))
    holding = Collecting(hold=True)
    other = Collecting()
    first = asyncio.create_task(Relay(db, clock, holding, batch_size=10).publish_pending())
    await holding.holding.wait()  # rows 1–10 are locked by an open transaction

    await Relay(db, clock, other, batch_size=10).publish_pending()
    holding.release.set()
    await first

    assert holding.received == list(range(1, 11))
    assert other.received == list(range(11, 26))
