"""The Microsoft Graph adapter against a fake Graph on loopback (support/fake_graph.py; fixtures in
this folder's conftest.py): throttling and errors: Retry-After, a throttle past the budget, a
server error left to the outbox, and the 4-requests-per-mailbox limit.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from clinicflow.adapters.calendars._graph_http import GraphError, GraphThrottled
from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from support.fake_graph import FakeGraph
from support.graph_contract import ELENA, GRACE, at, visit
from support.graph_servers import Sleeps


async def test_a_throttled_call_waits_as_long_as_graph_says_and_tries_again(
    calendar: MicrosoftCalendar, fake: FakeGraph, sleeps: Sleeps
) -> None:
    fake.retry_after = "2"
    fake.answers = [429, 429]
    await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert sleeps.asked == [2.0, 2.0]
    assert len(fake.events(ELENA)) == 1


async def test_a_throttle_longer_than_the_budget_fails_so_the_outbox_retries_later(
    calendar: MicrosoftCalendar, fake: FakeGraph, sleeps: Sleeps
) -> None:
    fake.retry_after = "120"
    fake.answers = [429]
    with pytest.raises(GraphThrottled) as throttled:
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert throttled.value.retry_after == 120
    assert throttled.value.code == "ApplicationThrottled"
    assert sleeps.asked == []


async def test_a_server_error_fails_at_once_for_the_outbox_to_retry(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    fake.answers = [503]
    with pytest.raises(GraphError) as failed:
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert failed.value.status == 503
    await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert len(fake.events(ELENA)) == 1


async def test_no_more_than_4_requests_are_in_flight_on_one_mailbox(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    await calendar.live("doctor1", at(25, 0), at(26, 0))  # the token, fetched beforehand
    fake.latency = 0.05
    visits = [visit(f"bk_{i}", at(25, 8) + timedelta(minutes=15 * i)) for i in range(12)]
    visits += [
        visit(f"bn_{i}", at(25, 8) + timedelta(minutes=15 * i), who="nurse") for i in range(4)
    ]

    await asyncio.gather(*(calendar.upsert_visit(v) for v in visits))

    assert fake.throttled == 0
    assert fake.most_in_flight[ELENA] == 4
    assert len(fake.events(ELENA)) == 12
    assert len(fake.events(GRACE)) == 4
