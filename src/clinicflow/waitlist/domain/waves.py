"""Launch waves: how many people one wave invites.

A service launches once the catalog has what booking needs (`launch_problems` names what it
lacks). A wave is sized to capacity: the initial visits the open calendar can take over the next
weeks. Availability lists every start a visit could have, and those overlap (a 50-minute
visit may start every 30 minutes), so capacity counts the most visits that fit side by side:
per practitioner, earliest end first (the greedy that is optimal for interval scheduling),
each next visit starting after the previous one's end plus the service's buffers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from clinicflow.catalog import Service
from clinicflow.waitlist.domain.slots import INITIAL


@dataclass(frozen=True, slots=True)
class OpenSlot:
    start: datetime
    end: datetime
    practitioners: tuple[str, ...]


def capacity(slots: Iterable[OpenSlot], gap_minutes: int = 0) -> int:
    """How many visits the open slots hold at once; `gap_minutes`: the buffers kept between
    two visits (after the first plus before the next)."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for slot in slots:
        for practitioner in slot.practitioners:
            spans[practitioner].append((slot.start, slot.end))
    gap = timedelta(minutes=gap_minutes)
    total = 0
    for own in spans.values():
        free_from: datetime | None = None
        for start, end in sorted(own, key=lambda span: (span[1], span[0])):
            if free_from is None or start >= free_from:
                total += 1
                free_from = end + gap
    return total


def wave_size(capacity_now: int, candidates: int) -> int:
    """Never more invitations than places, nor than people waiting to be invited."""
    return max(0, min(capacity_now, candidates))


def launch_problems(service: Service) -> list[tuple[str, str]]:
    """(item, what to change) for everything booking would still refuse once launched."""
    key = service.key
    if not service.visit_types:
        return [
            ("durations", f"no visit durations are configured; add `durations:` (initial, "
             f"followup …) under services.{key} in the clinic's YAML"),
            ("pricing", f"no prices are configured; add `pricing:` under services.{key}"),
        ]  # fmt: skip
    found = [("catalog", reason) for reason in replace(service, active=True).reasons]
    if INITIAL not in service.visit_types:
        found.append(("durations", f"add an `{INITIAL}` visit type: launch waves invite "
                      "people to their first visit"))  # fmt: skip
    return found
