"""When a failed delivery is tried again: exponential backoff with full jitter, capped, and a
limit on attempts after which the delivery is given up (`failed`, retried only by hand)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

Random = Callable[[], float]  # uniform over [0, 1), as random.random


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    max_attempts: int = 8
    base_seconds: float = 60.0
    cap_seconds: float = 6 * 3600.0
    # Full jitter can draw ~0; a floor keeps a struggling receiver from an instant re-send.
    floor_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.floor_seconds <= self.base_seconds <= self.cap_seconds:
            raise ValueError("need 0 <= floor_seconds <= base_seconds <= cap_seconds")

    def ceiling(self, failed: int) -> float:
        """The longest wait after the `failed`-th failed attempt: base·2^(failed-1), capped."""
        exponent = min(max(failed - 1, 0), 62)  # beyond this the cap has long applied
        return float(min(self.cap_seconds, self.base_seconds * 2.0**exponent))

    def delay(self, failed: int, rand: Random) -> timedelta:
        """Uniform over [floor, ceiling]: retries of many receivers spread out, not in step."""
        ceiling = self.ceiling(failed)
        return timedelta(seconds=self.floor_seconds + (ceiling - self.floor_seconds) * rand())

    def next_attempt(self, failed: int, now: datetime, rand: Random) -> datetime | None:
        """After `failed` failed attempts: when to try again, or None to give up."""
        if failed >= self.max_attempts:
            return None
        return now + self.delay(failed, rand)

    def longest_wait(self) -> timedelta:
        """From the first attempt to giving up, at the worst of the jitter."""
        return timedelta(seconds=sum(self.ceiling(n) for n in range(1, self.max_attempts)))
