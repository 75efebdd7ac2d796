"""The account-wide sign-in budget, against a served app, as a botnet would meet it.

Every request goes over its own new TCP connection to a real uvicorn from a loopback source
address (all of 127.0.0.0/8 is local on Linux), so the server sees distinct peers. The
per-network back-off is 3 free failures and the account's budget 10 here, so a handful of
addresses can exhaust the account without any one of them meeting its own back-off. The
per-IP rate limit is off: what is tested is the sign-in back-off alone.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.identity.tables import signin_account, signin_known
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem
from support.app import PASSWORD
from support.signin import WRONG, comparable, failed_logins, login_from

pytestmark = pytest.mark.both_databases

BUDGET = 10


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rate_limits_enabled": False,
            "signin_free_failures": 3,
            "signin_account_failures": BUDGET,
        }
    )


async def rows(container: Container, query: Any) -> list[Any]:
    async with container.db.read() as conn:
        return list(await conn.execute(query))


async def account_attempts(container: Container, username: str) -> int:
    found = await rows(
        container, select(signin_account.c.attempts).where(signin_account.c.username == username)
    )
    return int(found[0].attempts)


async def botnet(live_server: str, username: str, bots: int = 5, each: int = 2) -> list[int]:
    """`bots` addresses each guessing `each` times: under every address's own back-off."""
    statuses = []
    for n in range(bots):
        for _ in range(each):
            answer = await login_from(live_server, f"127.0.6.{n + 1}", username, WRONG)
            statuses.append(answer.status_code)
    return statuses


async def test_many_addresses_exhaust_the_account_then_fresh_ones_wait_but_the_owners_does_not(
    container: Container, live_server: str, clock: FixedClock
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    usual = await login_from(live_server, "127.0.5.1", "desk", PASSWORD)
    assert usual.status_code == 200, usual.text

    assert await botnet(live_server, "desk") == [401] * BUDGET
    fresh = await login_from(live_server, "127.0.6.99", "desk", PASSWORD)  # even the right one
    problem = assert_problem(fresh, 429, "sign_in_backoff")
    assert fresh.headers["retry-after"] == "30"
    assert "not signed in from lately" in problem["detail"]

    owner = await login_from(live_server, "127.0.5.1", "desk", PASSWORD)
    assert owner.status_code == 200, owner.text
    # The owner's success forgives none of the strangers' failures...
    assert await account_attempts(container, "desk") == BUDGET
    # ...and after the wait a new address gets one attempt, then waits twice as long.
    clock.advance(timedelta(seconds=30))
    assert (await login_from(live_server, "127.0.7.1", "desk", WRONG)).status_code == 401
    again = await login_from(live_server, "127.0.7.2", "desk", WRONG)
    assert_problem(again, 429, "sign_in_backoff")
    assert again.headers["retry-after"] == "60"
    assert await failed_logins(container, "desk") == 1  # since the owner's success


async def test_the_known_place_is_kept_as_a_keyed_hash_and_forgotten_after_its_days(
    container: Container, live_server: str, clock: FixedClock
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    assert (await login_from(live_server, "127.0.5.1", "desk", PASSWORD)).status_code == 200

    stored = await rows(container, select(signin_known))
    assert len(stored) == 1
    assert "127.0.5" not in repr(tuple(stored[0]))
    assert len(stored[0].network_hash) == 64

    clock.advance(timedelta(days=31))
    await botnet(live_server, "desk")
    # A month on, the old place is a stranger again: it waits like any other.
    stranger = await login_from(live_server, "127.0.5.1", "desk", PASSWORD)
    assert_problem(stranger, 429, "sign_in_backoff")


async def test_an_existing_and_a_missing_account_answer_alike_under_a_botnet(
    container: Container, live_server: str, clock: FixedClock
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    seen: dict[str, list[tuple[int, str, dict[str, str]]]] = {"desk": [], "ghost": []}
    steps = [f"127.0.6.{1 + n // 2}" for n in range(BUDGET)] + ["127.0.6.99", "wait"]
    steps += ["127.0.7.1", "127.0.7.2", "127.0.7.3"]

    for address in steps:
        if address == "wait":
            clock.advance(timedelta(seconds=30))
            continue
        for name, answers in seen.items():
            answers.append(comparable(await login_from(live_server, address, name, WRONG)))

    assert seen["desk"] == seen["ghost"]
    assert [s for s, _, _ in seen["desk"]] == [401] * BUDGET + [429, 401, 429, 429]
    assert await account_attempts(container, "ghost") == await account_attempts(container, "desk")


async def test_parallel_failures_from_many_addresses_are_counted_exactly(
    container: Container, live_server: str
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)

    answers = await asyncio.gather(
        *(login_from(live_server, f"127.0.8.{n + 1}", "desk", WRONG) for n in range(3 * BUDGET))
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * BUDGET + [429] * (2 * BUDGET), [a.text for a in answers]
    assert await account_attempts(container, "desk") == BUDGET
    assert await failed_logins(container, "desk") == BUDGET  # the password was checked 10 times
