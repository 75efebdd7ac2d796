"""How long a sign-in back-off lasts, per (account name, client address) pair.

A few failures are free (typos happen); after that each further attempt from the same
address for the same account must wait twice as long as the one before, up to a cap. The
pair is the key, so an outsider hammering an account from one address slows only that
address: the account's owner, signing in from anywhere else, is not affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    free_failures: int = 5
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=15)
    # A pair quiet this long starts again from zero (and its row may be pruned).
    forget_after: timedelta = timedelta(days=1)

    def wait_after(self, attempts: int) -> timedelta | None:
        """The wait that the `attempts`-th unresolved attempt imposes on the next one."""
        over = attempts - self.free_failures
        if over < 0:
            return None
        # Capped before the power grows: a long-running attack must not overflow anything.
        wait: timedelta = self.base * (2 ** min(over, 32))
        return min(wait, self.cap)
