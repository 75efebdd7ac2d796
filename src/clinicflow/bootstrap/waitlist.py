"""The waitlist context's wiring."""

from __future__ import annotations

from clinicflow.bootstrap.booking import WaitlistDesk
from clinicflow.bootstrap.core import Core
from clinicflow.flags import FlagService
from clinicflow.identity import Mailer
from clinicflow.waitlist import Timing, Waitlist, build_waitlist


def wire_waitlist(
    core: Core, *, desk: WaitlistDesk, mailer: Mailer, flags: FlagService
) -> Waitlist:
    settings = core.settings
    return build_waitlist(
        db=core.db,
        clock=core.clock,
        catalog=core.catalog,
        keys=core.keys,
        trail=core.trail,
        config_path=settings.config_path,
        public_url=settings.public_url,
        desk=desk,
        messenger=mailer,
        timing=Timing(
            wave_weeks=settings.waitlist_wave_weeks,
            invitation_hours=settings.waitlist_invitation_hours,
            offer_minutes=settings.waitlist_offer_minutes,
            nurture_days=settings.waitlist_nurture_days,
        ),
        auto_offers=lambda: flags.is_enabled("waitlist_auto_offers"),
    )
