"""Where entries stand: each queued entry's score and its position in its service's queue,
computed at read time from `now` (the wait component grows and engagement decays as time
passes, so a stored score would be stale the next day). The join's answer, the token view,
the staff list, launch waves and offers all rank with `standings`, so they agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.position import Ranked, positions
from clinicflow.waitlist.domain.scoring import Candidate, Engagement, Score, score

Engagements = Mapping[str, tuple[Engagement, ...]]  # entry id → its engagement events


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an entry stands at one instant: its score and, while queued, its position."""

    score: Score
    position: int | None


@dataclass(frozen=True, slots=True)
class Queued:
    """What an entry is ranked by: nothing that identifies the person."""

    id: str
    joined_at: datetime
    interest_level: int
    distance_mi: int | None


def candidate(entry: Queued, events: tuple[Engagement, ...]) -> Candidate:
    distance = None if entry.distance_mi is None else float(entry.distance_mi)
    return Candidate(entry.id, entry.joined_at, int(entry.interest_level), distance, events)


def standings(
    queue: Iterable[Queued], events: Engagements, now: datetime, policy: WaitlistPolicy
) -> dict[str, Standing]:
    """Entry id → standing, for every entry of one service's queue."""
    scores = {q.id: (q, score(candidate(q, events.get(q.id, ())), now, policy)) for q in queue}
    ranked = positions(Ranked(i, s.total, q.joined_at) for i, (q, s) in scores.items())
    return {i: Standing(s, ranked[i]) for i, (_, s) in scores.items()}


def alone(
    entry: Queued, events: tuple[Engagement, ...], now: datetime, policy: WaitlistPolicy
) -> Standing:
    """An entry that left the queue: its score, and no position."""
    return Standing(score(candidate(entry, events), now, policy), None)


def ranked_first(ids: Iterable[str], stand: Mapping[str, Standing]) -> list[str]:
    """`ids` in queue order, the best-ranked first."""
    return sorted(ids, key=lambda i: stand[i].position or 0)
