"""What the conversion model learns from and how it is judged.

An example is one launch invitation (`waitlist.invited` in the lake). Its label: a first
visit booked from the entry was attended and began within `WINDOW` of the invitation. The
features are what the lake knows of the entry when it was invited: the interest level the
person gave, the days they had waited, the campaign that brought them. (The wave number is
not one: later waves lie beyond the numbers trained on, and a line through them misleads.)
Invitations whose 30 days are not over at the lake's end have no label yet: left out.

The baseline is the clinic's published priority score as the lake can compute it: interest
and waiting time with the clinic's weights; the lake holds neither the entry's ZIP nor its
engagement, so location counts as unknown (the policy's neutral value) and engagement as
none, the same for everyone (they move the score, not the order, of what is compared).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from clinicflow.waitlist import WaitlistPolicy

WINDOW = timedelta(days=30)
CAMPAIGNS = ("clinic-site", "health-fair", "newsletter")  # the rest: "other"
FEATURES = ("interest_level", "days_waited", *(f"campaign={c}" for c in (*CAMPAIGNS, "other")))


@dataclass(frozen=True, slots=True)
class Invitation:
    service: str
    invited_at: datetime
    interest_level: int
    campaign: str
    joined_at: datetime
    wave: int
    converted_at: datetime | None  # the attended first visit's start, if any

    @property
    def days_waited(self) -> float:
        return max((self.invited_at - self.joined_at).total_seconds() / 86_400, 0.0)

    def label(self) -> bool:
        return self.converted_at is not None and self.converted_at <= self.invited_at + WINDOW

    def decided(self, seen: datetime) -> bool:
        """Whether the label is known at `seen` (its 30 days are over, or it converted)."""
        return self.label() or self.invited_at + WINDOW <= seen


def features(rows: Sequence[Invitation]) -> NDArray[np.float64]:
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    for i, row in enumerate(rows):
        campaign = row.campaign if row.campaign in CAMPAIGNS else "other"
        out[i, 0] = row.interest_level
        out[i, 1] = row.days_waited
        out[i, 2 + (*CAMPAIGNS, "other").index(campaign)] = 1.0
    return out


def labels(rows: Sequence[Invitation]) -> NDArray[np.int64]:
    return np.asarray([int(r.label()) for r in rows], dtype=np.int64)


def priority_score(row: Invitation, policy: WaitlistPolicy) -> float:
    """The published score at the invitation, from what the lake holds (module doc)."""
    w = policy.weights
    interest = (row.interest_level - 1) / 4
    wait = min(row.days_waited / policy.horizon_days, 1.0)
    return w.interest * interest + w.wait_time * wait + w.location * policy.unknown_location


def ranked(rows: Sequence[Invitation], policy: WaitlistPolicy) -> list[Invitation]:
    """In the published priority order, highest first; equal scores by who joined first,
    then by what the model reads (so the order, and each rank's chance, never depends on
    the order the rows came in)."""
    return sorted(
        rows,
        key=lambda r: (-priority_score(r, policy), r.joined_at, -r.interest_level, r.campaign),
    )


def auc(
    y: Sequence[int] | NDArray[np.int64], score: Sequence[float] | NDArray[np.float64]
) -> float:
    """ROC AUC by ranks (ties share their mean rank): the chance a converting invitation
    scores above one that did not. NaN without both kinds."""
    ys = np.asarray(y, dtype=np.int64)
    s = np.asarray(score, dtype=np.float64)
    pos, neg = int(ys.sum()), int(len(ys) - ys.sum())
    if pos == 0 or neg == 0:
        return math.nan
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[ys == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def wave_size(places: int, chances: Sequence[float], cap: int | None = None) -> int:
    """How many people, taken in the published priority order with their conversion
    chances, are expected to fill `places` first visits: the shortest prefix whose chances
    add up to `places` (all of them when they never do; at most `cap`)."""
    expected = 0.0
    for n, p in enumerate(chances, 1):
        expected += p
        if expected >= places or (cap is not None and n >= cap):
            return n
    return len(chances)
