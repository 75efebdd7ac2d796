"""How long a sign-in back-off lasts: per (account name, client network), and per account.

A few failures are free (typos happen); after that each further attempt must wait twice as
long as the one before, up to a cap. Two counters apply:

* per (account name, client network): an outsider hammering an account from one place
  slows only that place;
* per account, across all networks the account has not signed in from lately: many
  addresses each guessing a little (a botnet, an IPv6 block) exhaust the account's budget,
  after which every *new* place waits. Places where the account signed in successfully in
  the last `known_for` are exempt, so an outsider cannot lock the owner out of their usual
  place, and cannot guess without limit from fresh addresses either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# The counters are kept by the name as typed (normalized), so a name with no account backs
# off exactly like one with; a longer name cannot be an account's.
NAME_LENGTH = 64


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    free_failures: int = 5
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=15)
    # A counter quiet this long starts again from zero (and its row may be pruned).
    forget_after: timedelta = timedelta(days=1)

    def wait_after(self, attempts: int) -> timedelta | None:
        """The wait that the `attempts`-th unresolved attempt imposes on the next one."""
        over = attempts - self.free_failures
        if over < 0:
            return None
        # Capped before the power grows: a long-running attack must not overflow anything.
        wait: timedelta = self.base * (2 ** min(over, 32))
        return min(wait, self.cap)


@dataclass(frozen=True, slots=True)
class SignInLimits:
    address: BackoffPolicy = field(default_factory=BackoffPolicy)
    # The account's budget over all unknown networks: larger than one network's, and
    # forgotten after an hour without any attempt (an ongoing attack keeps it counting).
    account: BackoffPolicy = field(
        default_factory=lambda: BackoffPolicy(free_failures=20, forget_after=timedelta(hours=1))
    )
    # How long a network where the account signed in stays "known" (exempt from the above).
    known_for: timedelta = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Charge:
    """One counted attempt: what a success must refund."""

    username: str
    network: str
    network_hash: str
    account_charged: bool  # false from a known network: the account budget was not touched


def counter_name(username: str) -> str:
    return username.strip().lower()[:NAME_LENGTH]


def wait_seconds(until: datetime, now: datetime) -> int:
    """What `Retry-After` says while a counter waits until `until`: at least one second."""
    return max(1, math.ceil((until - now).total_seconds()))
