"""When a write runs again: a concurrent writer won the race (the database's constraints
refused our row: the next attempt sees the winner and answers as the checks would have), or
PostgreSQL chose the transaction to break a deadlock or a serialization conflict (after a
random pause, so the transactions it broke do not meet again at once). The unit of work
says which (`RaceLost`, `Deadlocked`: booking/repository.py)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from clinicflow.booking import errors

T = TypeVar("T")


async def retrying(retries: int, attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt()`, run up to `retries` more times (see the module notes); a race still lost
    then is the caller's 409, a deadlock still broken a 503 `booking_busy`."""
    for n in range(retries + 1):
        try:
            return await attempt()
        except errors.RaceLost as exc:
            if n < retries:
                continue
            if exc.taken == "patient":
                raise errors.PatientUnavailable(
                    "this patient already has a visit at that time; choose another time"
                ) from exc
            if exc.taken == "slot":
                raise errors.SlotUnavailable(
                    "another booking took this slot at the same moment; "
                    "GET /v1/availability lists the open slots"
                ) from exc
            raise
        except errors.Deadlocked as exc:
            if n == retries:
                raise errors.BookingBusy(
                    "too many bookings are being made for this time right now; "
                    "try again in a moment",
                    retry_after=1,
                ) from exc
            await asyncio.sleep(random.uniform(0.005, 0.02 * 2**n))  # noqa: S311 (jitter)
    raise AssertionError("unreachable")
