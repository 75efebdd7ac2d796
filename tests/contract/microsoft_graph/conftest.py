"""The Microsoft Graph contract tests' fixtures: the fake Graph on loopback
(`support.graph_servers`) and the adapter pointed at it."""

from __future__ import annotations

import httpx
import pytest

from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from clinicflow.shared.clock import FixedClock
from support.fake_graph import FakeGraph
from support.graph_servers import Sleeps, calendar_on


@pytest.fixture
def fake(graph_server: FakeGraph) -> FakeGraph:
    return graph_server


@pytest.fixture
def calendar(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> MicrosoftCalendar:
    return calendar_on(fake, http, clock, sleeps)
