"""What a simulated year made: counted as it ran, and from the database at the end."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.infra.db import Database
from clinicflow.payments.tables import orders
from clinicflow.waitlist.tables import entries

PAID = ("paid", "partially_refunded", "refunded")


@dataclass
class Tally:
    patients: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    unplaced: int = 0  # asks no free time was found for (the person tries again or leaves)
    reschedules: int = 0
    joined: Counter[str] = field(default_factory=Counter)  # waitlist joins per service
    launched: str | None = None
    invited: int = 0
    converted: int = 0  # waitlist entries booked into a first visit
    left_out: tuple[str, ...] = ()
    # From the database at the end:
    statuses: dict[str, int] = field(default_factory=dict)  # bookings per status
    paid_cents: int = 0
    refunded_cents: int = 0
    waitlist: dict[str, int] = field(default_factory=dict)  # entries per status

    @property
    def visits(self) -> int:
        return self.statuses.get("completed", 0)

    @property
    def no_shows(self) -> int:
        return self.statuses.get("no_show", 0)

    @property
    def cancellations(self) -> int:
        return self.statuses.get("cancelled", 0)

    @property
    def upcoming(self) -> int:
        return self.statuses.get("confirmed", 0)

    @property
    def net_cents(self) -> int:
        return self.paid_cents - self.refunded_cents

    async def count(self, db: Database) -> None:
        async with db.read() as conn:
            by_status = select(appointments.c.status, func.count()).group_by(appointments.c.status)
            self.statuses = {s: n for s, n in (await conn.execute(by_status)).all()}
            money = select(
                func.coalesce(func.sum(orders.c.total_cents), 0),
                func.coalesce(func.sum(orders.c.refunded_cents), 0),
            ).where(orders.c.status.in_(PAID))
            paid, refunded = (await conn.execute(money)).one()
            self.paid_cents, self.refunded_cents = int(paid), int(refunded)
            queued = select(entries.c.status, func.count()).group_by(entries.c.status)
            self.waitlist = {s: n for s, n in (await conn.execute(queued)).all()}

    def lines(self) -> list[str]:
        rate = self.no_shows / max(1, self.visits + self.no_shows)
        joins = ", ".join(f"{k} {v}" for k, v in sorted(self.joined.items())) or "none"
        sources = ", ".join(f"{k} {v}" for k, v in sorted(self.sources.items()))
        out = [
            f"patients: {self.patients} ({sources})",
            f"visits: {self.visits} completed, {self.no_shows} no-shows ({rate:.1%}), "
            f"{self.cancellations} cancelled, {self.reschedules} moved, "
            f"{self.upcoming} upcoming; {self.unplaced} requests found no free time "
            "(asked again later, or gave up)",
            f"revenue: ${self.paid_cents / 100:,.2f} paid, ${self.refunded_cents / 100:,.2f} "
            f"refunded, ${self.net_cents / 100:,.2f} net",
            f"waitlist joins: {joins}",
        ]
        if self.launched:
            out.append(
                f"launch: {self.launched}, {self.invited} invited, {self.converted} converted "
                f"to a first visit, {self.waitlist.get('converted', 0)} paid"
            )
        out += [f"left out: {why}" for why in self.left_out]
        return out
