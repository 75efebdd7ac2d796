"""Waiting out a vendor's `Retry-After` inside one call, up to a budget.

Shared by the adapters' HTTP clients (Microsoft Graph, MediRecords): a 429 or 503 that says
how long to wait is slept out and the request sent again, while the call's total wait (and,
if given, its number of waits) stays within the budget; past it the client raises its own
outage error, so its caller (the outbox, the bus, a sync job) tries again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from clinicflow.infra.logging import get_logger

log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
THROTTLED = frozenset({429, 503})


def seconds(value: str) -> float:
    """A `Retry-After` value in seconds; an HTTP date (rare from these APIs) is a short wait,
    after which the budget decides."""
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 1.0


@dataclass
class RetryAfterBudget:
    """One per call. Each wait is logged as `vendor_throttled` with the `vendor`, the answer's
    status, the wait and the caller's `fields` (never a secret or a patient's data)."""

    vendor: str
    limit: float
    sleep: Sleep = asyncio.sleep
    max_waits: int | None = None
    waited: float = field(default=0.0, init=False)
    waits: int = field(default=0, init=False)
    refused: float | None = field(default=None, init=False)  # a wait the budget did not allow

    @property
    def exhausted(self) -> bool:
        """Whether the call has waited as many times as it may."""
        return self.max_waits is not None and self.waits >= self.max_waits

    async def wait_out(self, answer: httpx.Response, **fields: object) -> bool:
        """True when `answer` asked to wait (429/503 with `Retry-After`) and the budget allowed
        it: the wait is over and the request may be sent again. False otherwise; `refused`
        then holds the wait asked for, if one was."""
        if answer.status_code not in THROTTLED or "retry-after" not in answer.headers:
            return False
        wait = seconds(answer.headers["retry-after"])
        if self.exhausted or self.waited + wait > self.limit:
            self.refused = wait
            return False
        log.info(
            "vendor_throttled",
            vendor=self.vendor,
            status=answer.status_code,
            wait=wait,
            **fields,
        )
        self.waited += wait
        self.waits += 1
        await self.sleep(wait)
        return True
