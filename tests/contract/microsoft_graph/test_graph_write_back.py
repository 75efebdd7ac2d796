"""The Microsoft Graph adapter against a fake Graph on loopback (support/fake_graph.py; fixtures in
this folder's conftest.py): write-back: a visit created, moved and removed by booking id, a
practitioner without a mailbox, and a create whose answer was lost (the bus-level scenario is
tests/contract/test_microsoft_write_back.py).
"""

from __future__ import annotations

import pytest

from clinicflow.adapters.calendars._graph_http import GraphError
from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from clinicflow.integrations.ports import CalendarSync
from support.fake_graph import FakeGraph
from support.fake_graph_calendar import parse_time
from support.graph_contract import ELENA, at, visit


async def test_a_visit_is_created_moved_and_removed_in_the_practitioners_calendar(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    sync: CalendarSync = calendar
    await sync.upsert_visit(visit("bk_1", at(25, 9)))
    await sync.upsert_visit(visit("bk_1", at(25, 9)))  # delivered twice: nothing changes

    [event] = fake.events(ELENA)
    assert event["transactionId"] == "bk_1"
    assert event["subject"] == "clinicflow visit: Acupuncture"
    assert event["showAs"] == "busy"
    assert (parse_time(event["start"]), parse_time(event["end"])) == (at(25, 9), at(25, 10))
    assert "pat_secret_id" not in str(fake.mailbox(ELENA).events)  # no patient data
    assert fake.calls("PATCH", "/events/") == 0

    await sync.upsert_visit(visit("bk_1", at(26, 14)))  # rescheduled
    [moved] = fake.events(ELENA)
    assert moved["id"] == event["id"]
    assert (parse_time(moved["start"]), parse_time(moved["end"])) == (at(26, 14), at(26, 15))

    await sync.remove_visit("bk_1", "doctor1")
    assert fake.events(ELENA) == []
    await sync.remove_visit("bk_1", "doctor1")  # again: already gone is fine
    await sync.remove_visit("bk_2", "doctor1")  # never there


async def test_a_practitioner_without_a_mailbox_is_left_alone(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    await calendar.upsert_visit(visit("bk_1", at(25, 9), who="dietitian"))
    await calendar.remove_visit("bk_1", "dietitian")
    assert [m for m, _ in fake.log] == []


async def test_a_create_whose_answer_was_lost_is_not_made_twice(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    fake.lose_creates = 1  # created, answered 504, and not yet found by the property filter
    with pytest.raises(GraphError):
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))

    await calendar.upsert_visit(visit("bk_1", at(25, 9)))  # the bus's retry

    assert len(fake.events(ELENA)) == 1  # transactionId: Graph returned the first one


async def test_a_reschedule_after_a_lost_create_moves_the_event_graph_gives_back(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    fake.lose_creates = 1
    with pytest.raises(GraphError):
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))

    await calendar.upsert_visit(visit("bk_1", at(26, 15)))  # the reschedule, first found here

    [event] = fake.events(ELENA)
    assert parse_time(event["start"]) == at(26, 15)
