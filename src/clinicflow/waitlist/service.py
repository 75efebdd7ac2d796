"""The waitlist's use cases together: what its routes ask for (`WaitlistDep`), and what the
composition root (`clinicflow.bootstrap.waitlist`) builds once (`assemble`) and runs beside
requests — the bus subscribers and the periodic jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from clinicflow.catalog import Catalog
from clinicflow.infra.bus import Subscriber
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.conversions.service import Claims, ConversionService
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.entries.service import EntryService
from clinicflow.waitlist.guard import WaitlistCipher, WaitlistGuard
from clinicflow.waitlist.launches.service import InvitationService, Launcher
from clinicflow.waitlist.messages.service import LinkMail
from clinicflow.waitlist.nurture.service import NurtureService
from clinicflow.waitlist.offers.service import OfferService
from clinicflow.waitlist.ports import BookingDesk, Messenger, WaitlistUnitOfWork
from clinicflow.waitlist.stats.service import WaitlistStats
from clinicflow.waitlist.subscribers import FreedSlots, PaidVisits

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


def assemble(
    *,
    uow: UnitsOfWork[WaitlistUnitOfWork],
    clock: Clock,
    catalog: Catalog,
    cipher: WaitlistCipher,
    guard: WaitlistGuard,
    desk: BookingDesk,
    messenger: Messenger | None,
    policy: WaitlistPolicy,
    timing: Timing,
    public_url: str,
    auto_offers: Callable[[], Awaitable[bool]] | None = None,
) -> Waitlist:
    """Every use case over one unit-of-work factory, each given what it uses of these.
    `auto_offers`: the `waitlist_auto_offers` feature flag (freed slots become offers
    always when not given)."""
    mail = LinkMail(
        messenger=messenger, cipher=cipher, guard=guard, catalog=catalog, public_url=public_url
    )
    claims = Claims(uow=uow, clock=clock, cipher=cipher, guard=guard, desk=desk)
    on = _Common(uow=uow, clock=clock, catalog=catalog)
    launches = Launcher(**on, guard=guard, desk=desk, policy=policy, timing=timing, mail=mail)
    offers = OfferService(**on, desk=desk, policy=policy, timing=timing, mail=mail, claims=claims)
    conversions = ConversionService(**on, cipher=cipher, guard=guard, desk=desk, policy=policy)
    return Waitlist(
        entries=EntryService(**on, cipher=cipher, guard=guard, policy=policy, mail=mail),
        stats=WaitlistStats(**on, guard=guard, policy=policy),
        launches=launches,
        invitations=InvitationService(**on, desk=desk, claims=claims, launcher=launches),
        offers=offers,
        conversions=conversions,
        nurture=NurtureService(uow=uow, clock=clock, timing=timing, mail=mail),
        policy=policy,
        public_url=public_url.rstrip("/"),
        subscribers=(
            FreedSlots(offers=offers, uow=uow, clock=clock, enabled=auto_offers),
            PaidVisits(conversions=conversions),
        ),
    )


class _Common(TypedDict):
    """What every use case but nurture is given."""

    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    catalog: Catalog
