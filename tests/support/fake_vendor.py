"""What the fake provider servers on loopback share (fake_sendgrid, fake_twilio, fake_push,
fake_receiver): a `LoopbackServer` that hands each request to `_handle`, started and stopped
with the test (`serving`, for fixtures), and the statuses a fake vendor is told to answer;
`FlakyApi`, the payment providers' (fake_stripe, fake_paypal) forced answers, lost replies and
hangs; plus the httpx client the adapters under test are given."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Protocol, TypeVar

import httpx
import pytest

from support.fake_http import LoopbackServer, Reply, Request
from support.loopback_tls import loopback_tls


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


def loopback_client() -> httpx.AsyncClient:
    """The client the adapters under test are given, for the fakes on loopback."""
    # trust_env=False: a proxy configured on the machine must not intercept loopback traffic.
    return httpx.AsyncClient(verify=loopback_tls(), trust_env=False, timeout=5)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with loopback_client() as client:
        yield client


class Loopback:
    """A fake server at `url`; subclasses answer in `_handle`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
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


class FlakyApi(Loopback):
    """A payment provider's API on loopback that can be told to misbehave (fake_stripe,
    fake_paypal): `answers` are statuses to answer first, one per request; `lose_replies` do
    the work, then lose that many replies (as a timeout after the provider acted); `hang`
    holds requests until the fake stops. Subclasses answer in `_handle`, their state under
    `_lock`, and record what they were asked in `requests`."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.answers: list[int] = []
        self.lose_replies = 0
        self.hang = False
        self._release = threading.Event()

    def stop(self) -> None:
        self._release.set()
        super().stop()

    def _next_forced(self) -> int | None:
        """The status the next request was told to answer, if any (under `_lock`)."""
        return self.answers.pop(0) if self.answers else None

    def _hold_while_hanging(self) -> None:
        if self.hang:
            self._release.wait()

    def _done_or_lost(self, work: Callable[[], Reply], lost: Reply) -> Reply:
        """`work`'s reply, or `lost` when `lose_replies` asks to lose it after the work."""
        with self._lock:
            reply = work()
            if not self.lose_replies:
                return reply
            self.lose_replies -= 1
            return lost
