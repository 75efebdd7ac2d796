"""The Microsoft Graph adapter against a fake Graph on loopback (support/fake_graph.py; fixtures in
this folder's conftest.py): getSchedule (mapping, the 20-schedule and 62-day splits, a mailbox
it cannot read) and the live check's fast failure when Graph is slow or throttling.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from clinicflow.adapters.calendars._graph_http import GraphThrottled
from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from clinicflow.calendars.domain.busy import ShowAs
from clinicflow.calendars.ports import BusyFeed, SourceUnavailable
from clinicflow.shared.clock import FixedClock
from support.fake_graph import FakeGraph
from support.graph_contract import ELENA, GRACE, add, at
from support.graph_servers import MAILBOXES, Sleeps, calendar_on


async def test_a_snapshot_of_every_practitioner_is_one_getschedule_call(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    feed: BusyFeed = calendar
    busy = add(fake, ELENA, at(25, 9))
    add(fake, ELENA, at(25, 11), show_as="tentative")
    add(fake, ELENA, at(26, 9), hours=8, show_as="oof")
    add(fake, ELENA, at(25, 14), show_as="free")
    add(fake, ELENA, at(25, 15), show_as="workingElsewhere")
    add(fake, GRACE, at(27, 10), hours=0.5)

    snapshots = await feed.snapshot(
        ["doctor1", "doctor2", "nurse", "dietitian"], at(24, 0), at(24, 0) + timedelta(days=60)
    )

    assert fake.calls("POST", "getSchedule") == 1
    by = {s.practitioner: s for s in snapshots}
    assert set(by) == {"doctor1", "doctor2", "nurse"}  # dietitian has no mailbox
    assert [(i.start, i.end, i.show_as) for i in by["doctor1"].intervals] == [
        (at(25, 9), at(25, 10), ShowAs.BUSY),
        (at(25, 11), at(25, 12), ShowAs.TENTATIVE),
        (at(26, 9), at(26, 17), ShowAs.OOF),
    ]
    assert by["doctor2"].intervals == ()
    assert [(i.start, i.end) for i in by["nurse"].intervals] == [(at(27, 10), at(27, 10, 30))]
    assert all(i.source == "microsoft" for i in by["doctor1"].intervals)
    assert busy not in {i.external_id for i in by["doctor1"].intervals}  # items carry no ids
    again = await feed.snapshot(["doctor1"], at(24, 0), at(24, 0) + timedelta(days=60))
    assert again[0].intervals == by["doctor1"].intervals  # the same digests each time


async def test_more_than_20_practitioners_or_62_days_are_split_across_calls(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    mailboxes = {f"p{i}": f"p{i}@clinic.example" for i in range(25)}
    for mailbox in mailboxes.values():
        fake.mailbox(mailbox)
    calendar = calendar_on(fake, http, clock, sleeps, mailboxes=mailboxes)
    # An out-of-office month across the 61-day boundary is reported by both calls.
    add(fake, "p3@clinic.example", at(24, 0) + timedelta(days=50), hours=24 * 20, show_as="oof")

    snapshots = await calendar.snapshot(list(mailboxes), at(24, 0), at(24, 0) + timedelta(days=100))

    assert fake.calls("POST", "getSchedule") == 4  # 2 batches (20 + 5) x 2 spans (61 + 39 days)
    assert len(snapshots) == 25
    [p3] = [s for s in snapshots if s.practitioner == "p3"]
    assert len(p3.intervals) == 1
    assert p3.window_end - p3.window_start == timedelta(days=100)


async def test_a_mailbox_graph_cannot_read_gives_no_snapshot_rather_than_an_empty_one(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    calendar = calendar_on(
        fake, http, clock, sleeps, mailboxes={**MAILBOXES, "dietitian": "gone@clinic.example"}
    )
    snapshots = await calendar.snapshot(["doctor1", "dietitian"], at(24, 0), at(30, 0))
    assert [s.practitioner for s in snapshots] == ["doctor1"]


async def test_the_live_check_fails_fast_when_graph_is_slow(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    calendar = calendar_on(fake, http, clock, sleeps, live_timeout=0.2)
    await calendar.live("doctor1", at(25, 9), at(25, 10))  # the token, fetched beforehand
    fake.latency = 1.0
    with pytest.raises(SourceUnavailable):
        await calendar.live("doctor1", at(25, 9), at(25, 10))


async def test_the_live_check_does_not_wait_on_throttling(
    calendar: MicrosoftCalendar, fake: FakeGraph, sleeps: Sleeps
) -> None:
    add(fake, ELENA, at(25, 9))
    assert [i.start for i in await calendar.live("doctor1", at(25, 0), at(26, 0))] == [at(25, 9)]
    fake.answers = [429]
    with pytest.raises(GraphThrottled):
        await calendar.live("doctor1", at(25, 0), at(26, 0))
    assert sleeps.asked == []
