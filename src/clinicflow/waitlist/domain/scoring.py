"""The priority score: the seed's weighted sum of four components, each within 0..1.

    priority = interest·w_i + wait_time·w_w + engagement·w_e + location·w_l   (weights sum to 1)

- interest   = (level − 1) / 4, for the level 1..5 the person gave.
- wait_time  = days waited / horizon_days, capped at 1 (fractional days count).
- engagement = 1 − exp(−S), S = Σ kind_weight · 0.5^(age_days / half_life_days) over the
  entry's engagement events up to now. One fresh click (0.5) gives 0.39, three give 0.78;
  a click loses half its weight every half-life, so old interest fades.
- location   = 1 within near_miles of the clinic, falling linearly to 0 at far_miles;
  an unknown place gets `unknown_location` (0.5, neutral, by default), said so in the reason.

Each component is non-decreasing in what it measures, and the weights are non-negative, so
raising any component never lowers the score. docs/waitlist.md explains the choices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from clinicflow.waitlist.domain.policy import COMPONENTS, WaitlistPolicy, Weights

DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Engagement:
    kind: str  # opened | clicked | visited
    at: datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the score is computed from: nothing that identifies the person."""

    id: str
    joined_at: datetime
    interest_level: int
    distance_mi: float | None  # to the clinic; None when either place is unknown
    engagement: tuple[Engagement, ...] = ()


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    value: float  # 0..1
    weight: float
    reason: str  # why this value, in words the person and staff both understand

    @property
    def contribution(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True, slots=True)
class Score:
    total: float
    components: tuple[Component, ...]


def interest(level: int) -> float:
    if not 1 <= level <= 5:
        raise ValueError(f"interest level {level} is outside 1..5")
    return (level - 1) / 4


def wait_time(joined_at: datetime, now: datetime, horizon_days: float) -> float:
    days = (now - joined_at).total_seconds() / DAY_SECONDS
    return _unit(days / horizon_days)


def decayed_sum(
    events: Iterable[Engagement], now: datetime, kinds: Mapping[str, float], half_life: float
) -> float:
    total = 0.0
    for event in events:
        age = (now - event.at).total_seconds() / DAY_SECONDS
        if age < 0:
            continue  # recorded for a later instant: it has not happened yet at `now`
        total += kinds.get(event.kind, 0.0) * 0.5 ** (age / half_life)
    return total


def engagement(decayed: float) -> float:
    return _unit(1.0 - math.exp(-decayed))


def location(distance_mi: float | None, policy: WaitlistPolicy) -> float:
    if distance_mi is None:
        return policy.unknown_location
    near, far = policy.near_miles, policy.far_miles
    return _unit((far - distance_mi) / (far - near))


def combine(weights: Weights, values: Mapping[str, float]) -> float:
    by_name = weights.as_dict()
    total = sum(by_name[name] * values[name] for name in COMPONENTS)
    return _unit(total)  # rounding can push a sum of weights that is 1 a hair past it


def score(candidate: Candidate, now: datetime, policy: WaitlistPolicy) -> Score:
    decayed = decayed_sum(candidate.engagement, now, policy.engagement_kinds, policy.half_life_days)
    days = max(0.0, (now - candidate.joined_at).total_seconds() / DAY_SECONDS)
    values = {
        "interest": interest(candidate.interest_level),
        "wait_time": wait_time(candidate.joined_at, now, policy.horizon_days),
        "engagement": engagement(decayed),
        "location": location(candidate.distance_mi, policy),
    }
    reasons = {
        "interest": f"interest level {candidate.interest_level} of 5",
        "wait_time": f"waited {days:.1f} of {policy.horizon_days:g} days",
        "engagement": _engagement_reason(candidate.engagement, now, decayed),
        "location": _location_reason(candidate.distance_mi, policy),
    }
    weights = policy.weights.as_dict()
    components = tuple(
        Component(name, values[name], weights[name], reasons[name]) for name in COMPONENTS
    )
    return Score(combine(policy.weights, values), components)


def _engagement_reason(events: tuple[Engagement, ...], now: datetime, decayed: float) -> str:
    counted = [e for e in events if e.at <= now]
    if not counted:
        return "no opened messages, clicks or visits yet"
    tally = ", ".join(
        f"{sum(1 for e in counted if e.kind == kind)} {kind}"
        for kind in sorted({e.kind for e in counted})
    )
    return f"{tally}; weight after decay {decayed:.2f}"


def _location_reason(distance_mi: float | None, policy: WaitlistPolicy) -> str:
    if distance_mi is None:
        return (
            "the ZIP code's location is not known, so it counts as "
            f"{policy.unknown_location:g} (not an error)"
        )
    near, far = policy.near_miles, policy.far_miles
    where = f"about {distance_mi:.0f} miles from the clinic"
    if distance_mi <= near:
        return f"{where}: within {near:g} miles"
    if distance_mi >= far:
        return f"{where}: beyond {far:g} miles"
    return f"{where}: between {near:g} and {far:g} miles"


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
