"""The waitlist context's settings (docs/waitlist.md)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class WaitlistSettings(BaseSettings):
    """CLINICFLOW_WAITLIST_*, CLINICFLOW_LAUNCH_CACHE_SECONDS."""

    # Waitlist (docs/waitlist.md): launch waves sized to the initial-visit places in the next
    # `waitlist_wave_weeks`; a launch invitation's link is open `waitlist_invitation_hours`;
    # a freed slot is held for its offer `waitlist_offer_minutes`; waiting entries hear from
    # the clinic every `waitlist_nurture_days`. The three waitlist jobs run every
    # `waitlist_poll_seconds`. Booking re-reads which services were launched at most every
    # `launch_cache_seconds` (a launch in the same process is seen at once).
    waitlist_wave_weeks: int = Field(default=2, ge=1, le=13)
    waitlist_invitation_hours: float = Field(default=48.0, gt=0)
    waitlist_offer_minutes: float = Field(default=30.0, gt=0)
    waitlist_nurture_days: float = Field(default=30.0, gt=0)
    waitlist_poll_seconds: float = Field(default=30.0, gt=0)
    launch_cache_seconds: float = Field(default=5.0, ge=0)
