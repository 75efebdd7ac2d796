"""How long links stay open and how often the waitlist acts; from Settings (see
docs/waitlist.md, "Launch waves, offers and nurture")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Timing:
    wave_weeks: int = 2  # capacity counts the initial-visit slots this many weeks ahead
    invitation_hours: float = 48.0  # a launch invitation's link stays open this long
    offer_minutes: float = 30.0  # a freed-slot offer's claim window (the slot is held)
    nurture_days: float = 30.0  # a waiting entry hears from the clinic this often
    # The hold outlives its offer by this much, so a claim made in the window's last second
    # still finds the slot held; the offers job then passes it on or lets it go.
    hold_slack_minutes: float = 5.0

    def __post_init__(self) -> None:
        for name in ("wave_weeks", "invitation_hours", "offer_minutes", "nurture_days"):
            if not getattr(self, name) > 0:
                raise ValueError(f"waitlist timing {name} must be more than 0")
        if not 1 <= self.wave_weeks <= 13:
            raise ValueError(
                "waitlist wave_weeks must be within 1..13 (availability reads 92 days)"
            )

    @property
    def invitation_window(self) -> timedelta:
        return timedelta(hours=self.invitation_hours)

    @property
    def offer_window(self) -> timedelta:
        return timedelta(minutes=self.offer_minutes)

    @property
    def hold_slack(self) -> timedelta:
        return timedelta(minutes=self.hold_slack_minutes)

    @property
    def nurture_every(self) -> timedelta:
        return timedelta(days=self.nurture_days)
