"""A webhook receiver on loopback: records every request (with the injected clock's time at
arrival, so signatures are checked as of then) and answers the statuses it is told to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from support.fake_http import Reply, Request
from support.fake_vendor import Loopback


@dataclass(frozen=True)
class Received:
    request: Request
    at: datetime

    @property
    def body(self) -> bytes:
        return self.request.body

    def header(self, name: str) -> str:
        return self.request.headers[name.lower()]


class WebhookReceiver(Loopback):
    def __init__(self, now: Callable[[], datetime], default_status: int = 200) -> None:
        super().__init__()
        self._now = now
        self._default = default_status
        self._script: list[int] = []
        self.received: list[Received] = []
        self.url = f"{self.server.url}/hooks/clinicflow"

    def answer(self, *statuses: int, then: int | None = None) -> None:
        """Answer these statuses in turn, then `then` (or the default) for good."""
        with self._lock:
            self._script = list(statuses)
            if then is not None:
                self._default = then

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            self.received.append(Received(request, self._now()))
            status = self._script.pop(0) if self._script else self._default
        return Reply(status, {"Content-Type": "text/plain"}, b"ok" if status < 300 else b"nope")
