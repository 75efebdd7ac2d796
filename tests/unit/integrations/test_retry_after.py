"""The Retry-After budget the Graph and MediRecords clients share: a 429/503 that says how
long to wait is slept out while the call's total wait and number of waits allow, and what it
refused is kept for the client's error."""

from __future__ import annotations

import httpx

from clinicflow.adapters._retry_after import RetryAfterBudget, seconds


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, wait: float) -> None:
        self.slept.append(wait)


def answer(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(status, headers=headers)


async def test_waits_are_slept_out_until_the_next_would_pass_the_budget() -> None:
    sleep = Sleeps()
    budget = RetryAfterBudget("vendor", 10.0, sleep)

    taken = [await budget.wait_out(answer(429, "4")) for _ in range(3)]

    assert taken == [True, True, False]
    assert sleep.slept == [4.0, 4.0]
    assert (budget.waited, budget.waits, budget.refused) == (8.0, 2, 4.0)


async def test_only_a_429_or_503_that_says_how_long_is_waited_for() -> None:
    sleep = Sleeps()
    budget = RetryAfterBudget("vendor", 60.0, sleep)

    for status, header in [(500, "1"), (429, None), (400, "1"), (503, None)]:
        assert await budget.wait_out(answer(status, header)) is False

    assert sleep.slept == []
    assert budget.refused is None
    assert await budget.wait_out(answer(503, "0")) is True


async def test_a_call_waits_no_more_times_than_it_may_however_short_each_wait() -> None:
    sleep = Sleeps()
    budget = RetryAfterBudget("vendor", 60.0, sleep, max_waits=2)

    taken = [await budget.wait_out(answer(429, "0")) for _ in range(3)]

    assert taken == [True, True, False]
    assert budget.exhausted
    assert budget.refused == 0.0


def test_a_retry_after_that_is_a_date_or_negative_is_read_as_a_short_wait_or_none() -> None:
    assert seconds("2.5") == 2.5
    assert seconds("-3") == 0.0
    assert seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0
