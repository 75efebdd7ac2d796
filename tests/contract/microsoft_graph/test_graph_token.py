"""The Microsoft Graph adapter against a fake Graph on loopback (support/fake_graph.py; fixtures in
this folder's conftest.py): the app-only token: fetched once and again before it expires or when
Graph no longer takes it, and a refused app that never shows the secret.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from clinicflow.adapters.calendars._graph_http import GraphError
from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from clinicflow.calendars.ports import SourceUnavailable
from clinicflow.shared.clock import FixedClock
from support.fake_graph import CLIENT_SECRET, FakeGraph
from support.graph_contract import at
from support.graph_servers import MAILBOXES, Sleeps, graph_client


async def test_the_token_is_fetched_once_and_again_shortly_before_it_expires(
    calendar: MicrosoftCalendar, fake: FakeGraph, clock: FixedClock
) -> None:
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    assert fake.tokens_issued == 1

    clock.advance(timedelta(minutes=56))  # 3599 s tokens are refreshed 5 minutes early
    fake.now = clock.now()
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    assert fake.tokens_issued == 2


async def test_a_token_graph_no_longer_accepts_is_fetched_again_once(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    fake.expire_tokens()  # Graph answers 401 InvalidAuthenticationToken

    await calendar.live("doctor1", at(25, 9), at(25, 17))

    assert fake.tokens_issued == 2


async def test_a_refused_app_is_an_error_that_never_shows_the_secret(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    graph = graph_client(fake, http, clock, sleeps, secret="wrong-secret-value")
    calendar = MicrosoftCalendar(graph, MAILBOXES, clock)

    with pytest.raises(GraphError) as refused:
        await calendar.live("doctor1", at(25, 9), at(25, 17))

    assert refused.value.code == "invalid_client"
    assert isinstance(refused.value, SourceUnavailable)
    assert "wrong-secret-value" not in str(refused.value)
    assert CLIENT_SECRET not in repr(graph._app)
