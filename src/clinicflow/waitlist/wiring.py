"""Builds the waitlist's parts; bootstrap calls `build_waitlist` once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from clinicflow.catalog import Catalog
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.bus import Subscriber
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.inbox import Inbox
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.cipher import WaitlistCipher
from clinicflow.waitlist.config import load_policy
from clinicflow.waitlist.conversion import Conversions
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.guard import WaitlistGuard
from clinicflow.waitlist.handlers import WaitlistService
from clinicflow.waitlist.invitations import Invitations
from clinicflow.waitlist.launching import Launcher
from clinicflow.waitlist.messages import LinkMail
from clinicflow.waitlist.nurture import Nurture
from clinicflow.waitlist.offers import Offers
from clinicflow.waitlist.ports import BookingDesk, Messenger
from clinicflow.waitlist.reads import WaitlistReader
from clinicflow.waitlist.subscribers import FreedSlots, PaidVisits

JobRun = Callable[[datetime], Awaitable[int]]


@dataclass(frozen=True)
class Waitlist:
    service: WaitlistService
    reads: WaitlistReader
    policy: WaitlistPolicy
    public_url: str  # where the private status links point
    launcher: Launcher
    invitations: Invitations
    offers: Offers
    conversions: Conversions
    nurture: Nurture
    subscribers: tuple[Subscriber, ...] = field(default=())

    def status_url(self, token: str) -> str:
        # The token goes in the query string: request logs drop query strings (see
        # infra/logging.py), while they keep paths.
        return f"{self.public_url}/v1/waitlist/mine?token={token}"

    def jobs(self) -> list[tuple[str, JobRun]]:
        """The periodic work, for the composition root's job runner."""
        return [
            ("waitlist_offers", self.offers.expire_due),
            ("waitlist_waves", self.launcher.run_due),
            ("waitlist_nurture", self.nurture.send_due),
        ]


def build_waitlist(
    db: Database,
    clock: Clock,
    catalog: Catalog,
    keys: KeyRing,
    trail: AuditTrail,
    *,
    config_path: Path,
    public_url: str,
    desk: BookingDesk,
    messenger: Messenger | None = None,
    timing: Timing | None = None,
    policy: WaitlistPolicy | None = None,
    auto_offers: Callable[[], Awaitable[bool]] | None = None,
) -> Waitlist:
    policy = policy or load_policy(config_path)
    timing = timing or Timing()
    cipher = WaitlistCipher(keys)
    guard = WaitlistGuard(trail)
    mail = LinkMail(
        messenger=messenger, cipher=cipher, trail=trail, catalog=catalog, public_url=public_url
    )
    launcher = Launcher(
        db=db,
        clock=clock,
        catalog=catalog,
        guard=guard,
        desk=desk,
        policy=policy,
        timing=timing,
        mail=mail,
    )
    invitations = Invitations(
        db=db,
        clock=clock,
        catalog=catalog,
        cipher=cipher,
        guard=guard,
        desk=desk,
        launcher=launcher,
    )
    offers = Offers(
        db=db,
        clock=clock,
        catalog=catalog,
        cipher=cipher,
        guard=guard,
        desk=desk,
        policy=policy,
        timing=timing,
        mail=mail,
    )
    conversions = Conversions(
        db=db,
        clock=clock,
        catalog=catalog,
        cipher=cipher,
        guard=guard,
        desk=desk,
        policy=policy,
        invitations_=invitations,
        offers_=offers,
    )
    inbox = Inbox(db, clock)
    return Waitlist(
        service=WaitlistService(
            db=db,
            clock=clock,
            catalog=catalog,
            cipher=cipher,
            guard=guard,
            policy=policy,
            mail=mail,
        ),
        reads=WaitlistReader(
            db=db, clock=clock, catalog=catalog, cipher=cipher, guard=guard, policy=policy
        ),
        policy=policy,
        public_url=public_url.rstrip("/"),
        launcher=launcher,
        invitations=invitations,
        offers=offers,
        conversions=conversions,
        nurture=Nurture(db=db, clock=clock, timing=timing, mail=mail),
        subscribers=(FreedSlots(offers, inbox, auto_offers), PaidVisits(conversions, inbox, clock)),
    )
