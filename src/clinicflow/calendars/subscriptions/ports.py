"""What change notifications need from outside: who a notification speaks for (the
adapter, which made the subscription), and what to do about it (the calendars service)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class NotificationKeys(Protocol):
    def practitioner_of(self, client_state: str) -> str | None:
        """The practitioner whose subscription carries `client_state`; None if it is not one
        of clinicflow's."""
        ...


# (source, practitioner): sync what changed in that practitioner's calendar at `source`
# (a delta sync). Given by the calendars service; until it is wired, a logging stand-in.
SyncTrigger = Callable[[str, str], Awaitable[None]]
