"""Which waiting entries a freed slot suits: the service (chosen by the caller), the
preferred practitioner when one is given, and the preferred weekly times when any are given.
Times are the clinic's local wall-clock times; a visit fits a window when it starts and ends
inside it on that weekday."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def fits_times(
    windows: Sequence[Mapping[str, str]], start_local: datetime, end_local: datetime
) -> bool:
    if not windows:
        return True  # no preference: any time suits
    if end_local.date() != start_local.date():
        return False
    day = WEEKDAYS[start_local.weekday()]
    start, end = f"{start_local:%H:%M}", f"{end_local:%H:%M}"
    return any(w["weekday"] == day and w["start"] <= start and end <= w["end"] for w in windows)


def suits(
    preferred_practitioner: str | None,
    windows: Sequence[Mapping[str, str]],
    practitioner: str,
    start_local: datetime,
    end_local: datetime,
) -> bool:
    if preferred_practitioner is not None and preferred_practitioner != practitioner:
        return False
    return fits_times(windows, start_local, end_local)
