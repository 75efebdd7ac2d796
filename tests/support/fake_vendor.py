"""What the fake provider servers on loopback share (fake_sendgrid, fake_twilio, fake_push,
fake_receiver): a `LoopbackServer` that hands each request to `_handle`, started and stopped
with the test (`serving`, for fixtures), and the statuses a fake vendor is told to answer;
plus the httpx client the adapters under test are given."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Protocol, TypeVar

import httpx
import pytest

from support.fake_http import LoopbackServer, Reply, Request


class Startable(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


def serving(fake: S) -> Iterator[S]:
    """For a fixture: `yield from serving(FakeTwilio())` runs the fake for the test."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy configured on the machine must not intercept loopback traffic.
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        yield client


class Loopback:
    """A fake server at `url`; subclasses answer in `_handle`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.server = LoopbackServer(self._handle)
        self.url = self.server.url

    def _handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


class FakeVendor(Loopback):
    """A provider's API that counts the requests and can be told to fail: `answers` are
    statuses to answer first, one per request; `failing` is answered to every request while
    it is set."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self.answers: list[int] = []
        self.failing: int | None = None

    def _forced(self) -> int | None:
        """Counts this request; the status it was told to answer, if any."""
        with self._lock:
            self.requests += 1
            return self.answers.pop(0) if self.answers else self.failing
