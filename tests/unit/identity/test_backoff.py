"""The sign-in back-off schedule: free failures, then doubling waits up to the cap."""

from __future__ import annotations

from datetime import timedelta

from clinicflow.identity.users.domain.backoff import BackoffPolicy


def test_the_first_failures_are_free_then_each_wait_doubles_up_to_the_cap() -> None:
    policy = BackoffPolicy(free_failures=5, base=timedelta(seconds=30), cap=timedelta(minutes=15))

    waits = [policy.wait_after(n) for n in range(1, 12)]

    assert waits[:4] == [None] * 4
    assert waits[4:] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 900, 900)]


def test_a_very_long_attack_stays_at_the_cap() -> None:
    assert BackoffPolicy().wait_after(10_000) == timedelta(minutes=15)
