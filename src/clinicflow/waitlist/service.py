"""The waitlist's use cases together: what its routes ask for (`WaitlistDep`), and what the
composition root (`clinicflow.bootstrap.waitlist`) builds once and runs beside requests —
the bus subscribers and the periodic jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from clinicflow.infra.bus import Subscriber
from clinicflow.waitlist.conversions.service import ConversionService
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.entries.service import EntryService
from clinicflow.waitlist.launches.service import InvitationService, Launcher
from clinicflow.waitlist.nurture.service import NurtureService
from clinicflow.waitlist.offers.service import OfferService
from clinicflow.waitlist.stats.service import WaitlistStats

JobRun = Callable[[datetime], Awaitable[int]]


@dataclass(frozen=True)
class Waitlist:
    entries: EntryService
    stats: WaitlistStats
    launches: Launcher
    invitations: InvitationService
    offers: OfferService
    conversions: ConversionService
    nurture: NurtureService
    policy: WaitlistPolicy
    public_url: str  # where the private status links point
    subscribers: tuple[Subscriber, ...] = field(default=())

    def status_url(self, token: str) -> str:
        # The page a person opens (web/waitlist_pages.py; the API's is /v1/waitlist/mine).
        # The token goes in the query string: request logs drop query strings (see
        # infra/logging.py), while they keep paths.
        return f"{self.public_url}/waitlist/mine?token={token}"

    def jobs(self) -> list[tuple[str, JobRun]]:
        """The periodic work, for the composition root's job runner."""
        return [
            ("waitlist_offers", self.offers.expire_due),
            ("waitlist_waves", self.launches.run_due),
            ("waitlist_nurture", self.nurture.send_due),
        ]
