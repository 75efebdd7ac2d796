"""The waitlist context's wiring: its policy from the clinic's YAML, one unit-of-work factory
for every use case (with booking's records bound into it), and the use cases with the bus
subscribers and jobs they bring (`clinicflow.waitlist.service.assemble`).

The `waitlist:` section of the clinic's YAML is read here for now: the catalog owns
config/clinic.yaml and should parse this section with the rest (and `clinicflow config
check` report it); until it does, the catalog rejects an unknown top-level key, so the
defaults in `WaitlistPolicy` are what runs. Example:

    waitlist:
      weights: {interest: 0.3, wait_time: 0.2, engagement: 0.2, location: 0.3}
      horizon_days: 90
      engagement: {half_life_days: 30, kinds: {opened: 0.25, clicked: 0.5, visited: 0.5}}
      location: {near_miles: 15, far_miles: 60, unknown: 0}
      distance_bands_miles: [15, 30, 60]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from clinicflow.booking import BookingNow, SqlBookingDesk, booking_now
from clinicflow.bootstrap.core import Core
from clinicflow.catalog.repository import launched_services, record_launch
from clinicflow.flags import FlagService
from clinicflow.identity import Mailer
from clinicflow.infra.unit_of_work import Factory, UnitOfWork
from clinicflow.waitlist import BookingDesk, Timing, Waitlist
from clinicflow.waitlist.domain.policy import PolicyError, WaitlistPolicy, Weights
from clinicflow.waitlist.guard import WaitlistCipher, WaitlistGuard
from clinicflow.waitlist.repository import SqlWaitlistUnitOfWork
from clinicflow.waitlist.service import assemble


def wire_waitlist(
    core: Core, *, desk: BookingDesk, mailer: Mailer, flags: FlagService, policy: WaitlistPolicy
) -> Waitlist:
    settings = core.settings
    return build_waitlist(
        core,
        desk=desk,
        messenger=mailer,
        policy=policy,
        timing=Timing(
            wave_weeks=settings.waitlist_wave_weeks,
            invitation_hours=settings.waitlist_invitation_hours,
            offer_minutes=settings.waitlist_offer_minutes,
            nurture_days=settings.waitlist_nurture_days,
        ),
        auto_offers=lambda: flags.is_enabled("waitlist_auto_offers"),
    )


def build_waitlist(
    core: Core,
    *,
    desk: BookingDesk,
    messenger: Mailer | None = None,
    timing: Timing | None = None,
    policy: WaitlistPolicy | None = None,
    auto_offers: Callable[[], Awaitable[bool]] | None = None,
) -> Waitlist:
    return assemble(
        uow=Factory(core.db, partial(SqlWaitlistUnitOfWork, booking=_BookingOn)),
        clock=core.clock,
        catalog=core.catalog,
        cipher=WaitlistCipher(core.keys),
        guard=WaitlistGuard(core.trail),
        desk=desk,
        messenger=messenger,
        policy=policy or load_policy(core.settings.config_path),
        timing=timing or Timing(),
        public_url=core.settings.public_url,
        auto_offers=auto_offers,
    )


@dataclass(frozen=True, slots=True)
class _BookingOn:
    """Booking's holds and the catalog's launches in the waitlist's unit of work (the
    waitlist's `BookingRecords` port): booking's `SqlBookingDesk` and the catalog's launch
    rows, on its transaction's connection; a released hold's event is published through it."""

    uow: UnitOfWork

    async def extend_hold(self, hold_id: str, until: datetime, now: datetime) -> bool:
        return await SqlBookingDesk(self.uow.connection).extend_hold(hold_id, until, now)

    async def release_hold(self, hold_id: str, now: datetime) -> bool:
        return await SqlBookingDesk(self.uow.connection, self.uow).release_hold(hold_id, now)

    async def status_of(self, booking_id: str) -> BookingNow | None:
        return await booking_now(self.uow.connection, booking_id)

    async def launched(self) -> frozenset[str]:
        return await launched_services(self.uow.connection)

    async def launch(self, service: str, at: datetime, by: str) -> bool:
        return await record_launch(self.uow.connection, service, at, by)


# -- the `waitlist:` section of the clinic's YAML -----------------------------------------


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


def policy_from(section: object) -> WaitlistPolicy:
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
