"""The sync engine and `StoredBusy` over the in-memory store, with feeds held in memory."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinicflow.calendars.busy_time.service import StoredBusy
from clinicflow.calendars.domain.busy import Delta, ShowAs
from clinicflow.calendars.domain.sync import Backoff, Freshness
from clinicflow.calendars.service import CalendarsService, Listeners
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.minutes import to_minute
from support.calendar_feeds import BoardFeed
from support.fake_calendars import CalendarRows, fake_calendars

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Chicago")


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


class World:
    def __init__(self, *feeds: BoardFeed, budget: timedelta = timedelta(minutes=30)) -> None:
        self.clock = FixedClock(NOW)
        self.units, self.rows, self.ledger = fake_calendars()
        self.heard: list[set[str]] = []
        listeners = Listeners()
        listeners.add(self._heard)
        self.service = CalendarsService(
            uow=self.units,
            clock=self.clock,
            feeds=feeds,
            practitioners=["doctor1", "doctor2"],
            tz=TZ,
            horizon_days=60,
            freshness=Freshness(budget),
            backoff=Backoff(first=timedelta(minutes=1), longest=timedelta(minutes=8)),
            listeners=listeners,
        )
        self.stored = StoredBusy(
            uow=self.units, clock=self.clock, service=self.service, live_timeout=0.2
        )

    async def _heard(self, practitioners: Collection[str]) -> None:
        self.heard.append(set(practitioners))

    def ids(self, rows: CalendarRows | None = None) -> set[tuple[str, str, str]]:
        return set((rows or self.rows).busy)

    async def blocks(self, who: str = "doctor1") -> list[tuple[int, int]]:
        window = (to_minute(at(-24)), to_minute(at(24 * 7)))
        return list((await self.stored.busy([who], window)).get(who, []))


def window_minutes(hours: float, length: float) -> tuple[int, int]:
    return (to_minute(at(hours)), to_minute(at(hours + length)))


async def test_the_first_sync_is_a_snapshot_of_the_booking_horizon_then_a_cursor() -> None:
    outlook = BoardFeed("microsoft", ("doctor1",))
    outlook.add("doctor1", "e1", at(2), at(3))
    outlook.add("doctor1", "far", at(24 * 200), at(24 * 200 + 1))  # past the horizon
    world = World(outlook)

    [outcome] = await world.service.sync(outlook)

    assert (outcome.kind, outcome.changed) == ("full", True)
    assert ("microsoft", "doctor1", "e1") in world.ids()
    state = world.rows.states[("microsoft", "doctor1")]
    assert state.last_full_sync == NOW
    assert state.cursor is not None
    assert outlook.calls == {"snapshot": 1, "changes": 1}
    assert world.heard == [{"doctor1"}]
    assert await world.blocks() == [(to_minute(at(2)), to_minute(at(3)))]


async def synced_with_e1() -> tuple[BoardFeed, World]:
    """doctor1's Outlook with one event, e1 (hours 2 to 3), after its first full sync."""
    outlook = BoardFeed("microsoft", ("doctor1",))
    outlook.add("doctor1", "e1", at(2), at(3))
    world = World(outlook)
    await world.service.sync(outlook)
    return outlook, world


async def test_then_only_what_changed_is_asked_and_merged() -> None:
    outlook, world = await synced_with_e1()

    outlook.add("doctor1", "e2", at(5), at(6))
    outlook.delete("doctor1", "e1")
    [outcome] = await world.service.sync(outlook)

    assert (outcome.kind, outcome.changed) == ("delta", True)
    assert world.ids() == {("microsoft", "doctor1", "e2")}
    assert outlook.calls["snapshot"] == 1

    world.heard.clear()
    [quiet] = await world.service.sync(outlook)
    assert (quiet.kind, quiet.changed) == ("delta", False)
    assert world.heard == []  # nothing changed: the cached availability stays


async def test_an_expired_cursor_means_a_full_resync_and_no_interval_is_lost() -> None:
    outlook, world = await synced_with_e1()
    outlook.add("doctor1", "e2", at(26), at(27))
    outlook.forgot_cursors = True

    [outcome] = await world.service.sync(outlook)

    assert outcome.kind == "full"
    assert world.ids() == {("microsoft", "doctor1", "e1"), ("microsoft", "doctor1", "e2")}
    assert outlook.calls["snapshot"] == 2


async def test_a_source_without_a_cursor_is_snapshotted_each_poll() -> None:
    calendly = BoardFeed("calendly", ("doctor1",), cursors=False)
    calendly.add("doctor1", "c1", at(2), at(3))
    world = World(calendly)
    await world.service.sync(calendly)
    calendly.delete("doctor1", "c1")

    [outcome] = await world.service.sync(calendly)

    assert (outcome.kind, outcome.changed) == ("full", True)
    assert world.ids() == set()


async def test_failures_count_and_back_off_and_a_success_clears_them() -> None:
    outlook = BoardFeed("microsoft", ("doctor1",), down=True)
    world = World(outlook)

    [first] = await world.service.sync(outlook)
    assert first.kind == "failed"
    state = world.rows.states[("microsoft", "doctor1")]
    assert (state.consecutive_errors, state.backoff_until) == (1, NOW + timedelta(minutes=1))

    [skipped] = await world.service.sync(outlook)  # inside the back-off: not asked
    assert skipped.kind == "skipped"
    assert outlook.calls["snapshot"] == 1

    world.clock.advance(timedelta(minutes=2))
    await world.service.sync(outlook)
    assert world.rows.states[("microsoft", "doctor1")].consecutive_errors == 2
    assert world.rows.states[
        ("microsoft", "doctor1")
    ].backoff_until == world.clock.now() + timedelta(minutes=2)

    outlook.down = False
    [forced] = await world.service.sync(outlook, force=True)  # the operator's sync
    assert forced.kind == "full"
    state = world.rows.states[("microsoft", "doctor1")]
    assert (state.consecutive_errors, state.backoff_until) == (0, None)


async def test_a_push_is_merged_like_a_delta_and_keeps_the_cursor() -> None:
    outlook = BoardFeed("microsoft", ("doctor1",))
    world = World(outlook)
    await world.service.sync(outlook)
    cursor = world.rows.states[("microsoft", "doctor1")].cursor
    pushed = outlook.add("doctor1", "e9", at(4), at(5))

    assert await world.service.apply(Delta("microsoft", "doctor1", (pushed,)))

    assert ("microsoft", "doctor1", "e9") in world.ids()
    assert world.rows.states[("microsoft", "doctor1")].cursor == cursor
    assert world.heard[-1] == {"doctor1"}


async def test_busy_time_is_the_union_of_the_sources_and_free_time_does_not_block() -> None:
    outlook = BoardFeed("microsoft", ("doctor1",))
    calendly = BoardFeed("calendly", ("doctor1",), cursors=False)
    outlook.add("doctor1", "o1", at(2), at(3))
    outlook.add("doctor1", "free", at(8), at(9), ShowAs.FREE)
    calendly.add("doctor1", "c1", at(5), at(6))
    world = World(outlook, calendly)
    await world.service.sync_all()

    assert await world.blocks() == [
        (to_minute(at(2)), to_minute(at(3))),
        (to_minute(at(5)), to_minute(at(6))),
    ]
    assert await world.stored.busy(["doctor2"], window_minutes(0, 1)) == {}  # no source


async def test_a_practitioner_whose_every_source_is_stale_is_unconfirmed() -> None:
    outlook = BoardFeed("microsoft", ("doctor1",))
    calendly = BoardFeed("calendly", ("doctor1",), cursors=False)
    world = World(outlook, calendly, budget=timedelta(minutes=30))
    window = window_minutes(0, 24)
    assert (await world.stored.busy(["doctor1"], window))["doctor1"] == [window]  # never synced

    await world.service.sync_all()
    assert (await world.stored.busy(["doctor1"], window))["doctor1"] == []

    calendly.down = True
    world.clock.advance(timedelta(minutes=20))
    await world.service.sync_all()  # Outlook answers, Calendly does not: still confirmed
    world.clock.advance(timedelta(minutes=20))
    assert (await world.stored.busy(["doctor1"], window))["doctor1"] == []

    outlook.down = True
    world.clock.advance(timedelta(minutes=31))
    world.heard.clear()
    await world.service.sync_all(force=True)
    assert (await world.stored.busy(["doctor1"], window))["doctor1"] == [window]
    assert {"doctor1"} in world.heard  # stale: the cached answers that offered them go
    [status] = await world.service.status()
    assert not status.confirmed
    assert all(s.stale for s in status.sources)


async def test_the_live_check_finds_what_the_store_missed_and_stores_it() -> None:
    outlook = BoardFeed("microsoft", ("doctor1",))
    world = World(outlook)
    await world.service.sync(outlook)
    outlook.add("doctor1", "late", at(2), at(3))  # the notification never came

    found = await world.stored.confirm("doctor1", window_minutes(2.5, 0.5))
    await world.stored.settled()

    assert found == [(to_minute(at(2)), to_minute(at(3)))]
    assert ("microsoft", "doctor1", "late") in world.ids()
    assert await world.stored.confirm("doctor1", window_minutes(10, 1)) == []


async def test_a_slow_or_broken_source_is_not_waited_for_at_booking_time() -> None:
    outlook = BoardFeed("microsoft", ("doctor1",), live_delay=5)
    calendly = BoardFeed("calendly", ("doctor1",), cursors=False, down=True)
    outlook.add("doctor1", "e1", at(2), at(3))
    world = World(outlook, calendly)

    started = datetime.now(UTC)
    assert await world.stored.confirm("doctor1", window_minutes(2, 1)) == []
    assert datetime.now(UTC) - started < timedelta(seconds=2)


@pytest.mark.parametrize(("errors", "wait"), [(0, 0), (1, 1), (2, 2), (3, 4), (9, 8)])
def test_backoff_doubles_up_to_its_cap(errors: int, wait: int) -> None:
    backoff = Backoff(first=timedelta(minutes=1), longest=timedelta(minutes=8))
    assert backoff.after(errors) == timedelta(minutes=wait)
