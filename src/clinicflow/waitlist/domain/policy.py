"""How the priority score is configured: weights, horizon, decay, radii, distance bands.

Defaults are the seed's weights and the issue's suggestions. The values are checked when the
policy is built, so a bad configuration stops the clinic at start, not at the first read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from clinicflow.waitlist.domain.states import ENGAGEMENT_KINDS

COMPONENTS: tuple[str, ...] = ("interest", "wait_time", "engagement", "location")


class PolicyError(ValueError):
    """A policy value that cannot work; the message names the key and what to change."""


@dataclass(frozen=True, slots=True)
class Weights:
    interest: float = 0.3
    wait_time: float = 0.2
    engagement: float = 0.2
    location: float = 0.3

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            if not 0.0 <= value <= 1.0:
                raise PolicyError(f"weights.{name}: {value} is outside 0..1")
        total = sum(self.as_dict().values())
        # A tolerance, so 0.1-steps written in YAML still add up despite binary fractions.
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise PolicyError(f"weights: they add up to {total:g}; make them add up to 1")

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in COMPONENTS}


def _default_kinds() -> Mapping[str, float]:
    # A click or a visit shows more intent than an opened message.
    return MappingProxyType({"opened": 0.25, "clicked": 0.5, "visited": 0.5})


@dataclass(frozen=True, slots=True)
class WaitlistPolicy:
    weights: Weights = field(default_factory=Weights)
    horizon_days: float = 90.0  # waiting this long earns the whole wait component
    half_life_days: float = 30.0  # an engagement counts half after this long
    engagement_kinds: Mapping[str, float] = field(default_factory=_default_kinds)
    near_miles: float = 15.0  # location match 1 within this distance of the clinic
    far_miles: float = 60.0  # … falling linearly to 0 at this distance
    # The location match when a ZIP has no known place: neutral, halfway between near and far,
    # so a ZIP missing from the offline data neither helps nor sinks anyone.
    unknown_location: float = 0.5
    distance_bands: tuple[float, ...] = (15.0, 30.0, 60.0)  # upper edges, for statistics

    def __post_init__(self) -> None:
        _positive("horizon_days", self.horizon_days)
        _positive("half_life_days", self.half_life_days)
        if self.near_miles < 0 or self.far_miles <= self.near_miles:
            raise PolicyError(
                f"location: near_miles {self.near_miles:g} and far_miles {self.far_miles:g} "
                "must satisfy 0 <= near_miles < far_miles"
            )
        if not 0.0 <= self.unknown_location <= 1.0:
            raise PolicyError("location.unknown: give a value within 0..1")
        _check_kinds(self.engagement_kinds)
        bands = self.distance_bands
        if not bands or bands[0] <= 0 or any(b <= a for a, b in itertools.pairwise(bands)):
            raise PolicyError("distance_bands_miles: give increasing positive distances")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise PolicyError(f"{name}: {value} must be more than 0")


def _check_kinds(kinds: Mapping[str, float]) -> None:
    unknown = sorted(set(kinds) - set(ENGAGEMENT_KINDS))
    if unknown:
        raise PolicyError(
            f"engagement.kinds: unknown {', '.join(unknown)}; use {', '.join(ENGAGEMENT_KINDS)}"
        )
    for kind, weight in kinds.items():
        if weight < 0:
            raise PolicyError(f"engagement.kinds.{kind}: {weight} must be 0 or more")
