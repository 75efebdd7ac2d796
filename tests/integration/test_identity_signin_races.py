"""Sign-in state under parallel requests and under attack, against a served app.

Every request goes over its own new TCP connection to a real uvicorn, as separate clients
would; a client "address" is a loopback source address (all of 127.0.0.0/8 is local on
Linux), so the server sees distinct peers. The per-IP rate limit is off here so that what
is tested is the sign-in back-off alone.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.identity.tables import sessions, signin_backoff
from clinicflow.identity.users.domain import totp
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem
from support.app import PASSWORD
from support.signin import WRONG, admin, comparable, failed_logins, login_from, scalar

pytestmark = pytest.mark.both_databases


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limits_enabled": False})


async def test_one_code_sent_eight_times_in_parallel_opens_exactly_one_session(
    container: Container, live_server: str, clock: FixedClock
) -> None:
    secret = await admin(container)
    code = totp.code_at(secret, clock.now())

    answers = await asyncio.gather(
        *(login_from(live_server, f"127.0.0.{10 + n}", "boss", PASSWORD, code) for n in range(8))
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [401] * 7, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 401):
        assert "already used" in assert_problem(refused, 401, "invalid_token")["detail"]
    assert await scalar(container, select(func.count()).select_from(sessions)) == 1
    assert await failed_logins(container, "boss") == 7


async def test_ten_wrong_codes_in_parallel_count_ten_failures(
    container: Container, live_server: str, clock: FixedClock
) -> None:
    secret = await admin(container)
    right = totp.code_at(secret, clock.now())
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"

    answers = await asyncio.gather(
        *(login_from(live_server, f"127.0.1.{n + 1}", "boss", PASSWORD, wrong) for n in range(10))
    )

    assert [a.status_code for a in answers] == [401] * 10
    assert await failed_logins(container, "boss") == 10


async def test_a_parallel_burst_from_one_address_gets_only_the_free_attempts(
    container: Container, live_server: str
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)

    answers = await asyncio.gather(
        *(login_from(live_server, "127.0.2.1", "desk", WRONG) for _ in range(12))
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 5 + [429] * 7
    assert await failed_logins(container, "desk") == 5  # the password was checked 5 times
    attempts = select(signin_backoff.c.attempts).where(signin_backoff.c.username == "desk")
    assert await scalar(container, attempts) == 5


async def test_an_attacker_at_one_address_does_not_lock_the_admin_out_from_another(
    container: Container, live_server: str, clock: FixedClock
) -> None:
    secret = await admin(container)
    for _ in range(20):
        await login_from(live_server, "127.0.3.66", "boss", WRONG)
    attacker = await login_from(live_server, "127.0.3.66", "boss", PASSWORD)
    assert_problem(attacker, 429, "sign_in_backoff")

    code = totp.code_at(secret, clock.now())
    owner = await login_from(live_server, "127.0.3.77", "boss", PASSWORD, code)

    assert owner.status_code == 200, owner.text
    assert owner.json()["role"] == "admin"
    # The owner's success forgives nothing of the attacker's address.
    assert_problem(
        await login_from(live_server, "127.0.3.66", "boss", WRONG), 429, "sign_in_backoff"
    )


async def test_an_existing_and_a_missing_account_answer_alike_at_every_step(
    container: Container, live_server: str, clock: FixedClock
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    seen: dict[str, list[tuple[int, str, dict[str, str]]]] = {"desk": [], "ghost": []}

    for step in range(8):
        for name, answers in seen.items():
            answers.append(comparable(await login_from(live_server, "127.0.4.1", name, WRONG)))
        if step == 6:
            clock.advance(timedelta(seconds=30))

    assert seen["desk"] == seen["ghost"]
    assert [s for s, _, _ in seen["desk"]] == [401] * 5 + [429, 429, 401]
