"""Reads the optional `waitlist:` section of the clinic's YAML into a `WaitlistPolicy`.

Temporary home: the catalog owns config/clinic.yaml and should parse this section with the
rest (and `clinicflow config check` report it); until it does, the catalog rejects an
unknown top-level key, so the defaults in `WaitlistPolicy` are what runs. Example:

    waitlist:
      weights: {interest: 0.3, wait_time: 0.2, engagement: 0.2, location: 0.3}
      horizon_days: 90
      engagement: {half_life_days: 30, kinds: {opened: 0.25, clicked: 0.5, visited: 0.5}}
      location: {near_miles: 15, far_miles: 60, unknown: 0}
      distance_bands_miles: [15, 30, 60]
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from clinicflow.waitlist.domain.policy import PolicyError, WaitlistPolicy, Weights


class WaitlistConfigError(ValueError):
    pass


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _WeightsSpec(_Spec):
    # All four or none: a partial set mixed with defaults would rarely add up to 1.
    interest: float
    wait_time: float
    engagement: float
    location: float


class _EngagementSpec(_Spec):
    half_life_days: float = 30.0
    kinds: dict[str, float] = {"opened": 0.25, "clicked": 0.5, "visited": 0.5}


class _LocationSpec(_Spec):
    near_miles: float = 15.0
    far_miles: float = 60.0
    unknown: float = 0.0


class _WaitlistSpec(_Spec):
    weights: _WeightsSpec | None = None
    horizon_days: float = 90.0
    engagement: _EngagementSpec = _EngagementSpec()
    location: _LocationSpec = _LocationSpec()
    distance_bands_miles: list[float] = [15.0, 30.0, 60.0]


def policy_from(section: Any) -> WaitlistPolicy:
    """`section`: the parsed `waitlist:` mapping (None = all defaults)."""
    if section is None:
        return WaitlistPolicy()
    try:
        spec = _WaitlistSpec.model_validate(section)
        return WaitlistPolicy(
            weights=Weights(**spec.weights.model_dump()) if spec.weights else Weights(),
            horizon_days=spec.horizon_days,
            half_life_days=spec.engagement.half_life_days,
            engagement_kinds=MappingProxyType(dict(spec.engagement.kinds)),
            near_miles=spec.location.near_miles,
            far_miles=spec.location.far_miles,
            unknown_location=spec.location.unknown,
            distance_bands=tuple(spec.distance_bands_miles),
        )
    except ValidationError as exc:
        where = "; ".join(
            f"waitlist.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise WaitlistConfigError(where) from None
    except PolicyError as exc:
        raise WaitlistConfigError(f"waitlist.{exc}") from None


def load_policy(path: Path) -> WaitlistPolicy:
    try:
        text = path.read_text() if path.exists() else ""
        safe = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: ~10x faster
        document = yaml.load(text, Loader=safe)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise WaitlistConfigError(f"{path}: not valid YAML ({exc})") from None
    section = document.get("waitlist") if isinstance(document, dict) else None
    try:
        return policy_from(section)
    except WaitlistConfigError as exc:
        raise WaitlistConfigError(f"{path}: {exc}") from None
