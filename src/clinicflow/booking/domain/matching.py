"""Who takes a booking when the patient did not ask for anyone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def order_candidates(
    eligible: Sequence[str], previous: str | None, day_load: Mapping[str, int]
) -> list[str]:
    """Continuity of care first (the patient's previous practitioner for this service), then
    the least-booked practitioner that day; ties keep the configured order."""
    rank = {key: i for i, key in enumerate(eligible)}
    ordered = sorted(eligible, key=lambda k: (k != previous, day_load.get(k, 0), rank[k]))
    return ordered
