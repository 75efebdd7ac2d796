"""The payments context's state in memory and its repositories, for support/fake_payments.py:
`PaymentsState` (orders, promotion uses, credits, the ledger, refunds, request keys, webhook
deliveries, booking's visits, patients' names) and one fake per repository port, keeping the
rules the SQL ones keep where a use case leans on them (see support/fake_payments.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from clinicflow.payments.domain import Credit, PromoUsage
from clinicflow.payments.domain.ledger import Entry
from clinicflow.payments.domain.orders import Order, OrderLine
from clinicflow.payments.domain.reconcile import Booked
from clinicflow.payments.domain.refunds import Refund
from clinicflow.payments.errors import PaymentNotFound
from clinicflow.payments.idempotency_keys.ports import RequestKey
from clinicflow.payments.ledger.views import RevenueRow
from clinicflow.payments.orders.ports import LineChange, OrderChange
from clinicflow.payments.ports import (
    AlreadyStored,
    GatewayEvent,
    Visit,
)
from clinicflow.payments.refunds.ports import RefundChange
from support.fake_tables import OnTables

MONEY_KINDS = ("charge", "refund", "adjustment")


@dataclass
class CreditUse:
    credit_id: str
    order_id: str
    booking_id: str
    state: str
    at: datetime


@dataclass
class StoredCredit:
    credit: Credit
    patient_id: str
    order_id: str


@dataclass
class PaymentsState:
    """Every payments table, in memory, and booking's visits as payments reads them."""

    orders: dict[str, Order] = field(default_factory=dict)
    lines: list[OrderLine] = field(default_factory=list)
    promo_uses: list[tuple[str, str, str]] = field(default_factory=list)  # code, patient, order
    credits: dict[str, StoredCredit] = field(default_factory=dict)
    credit_uses: list[CreditUse] = field(default_factory=list)
    ledger: list[Entry] = field(default_factory=list)
    refunds: dict[str, Refund] = field(default_factory=dict)
    request_keys: dict[tuple[str, str], RequestKey] = field(default_factory=dict)
    webhook_events: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)
    visited: set[str] = field(default_factory=set)  # patients who had a visit before
    names: dict[str, str] = field(default_factory=dict)  # patients' names, by id

    def money(self, order_id: str | None = None) -> int:
        return sum(
            e.amount_cents
            for e in self.ledger
            if e.kind in MONEY_KINDS and order_id in (None, e.order_id)
        )

    def entries(self, order_id: str) -> list[tuple[str, int, int]]:
        """(kind, cents, visits) of the order's ledger entries, in order."""
        return [(e.kind, e.amount_cents, e.visits) for e in self.ledger if e.order_id == order_id]

    def remaining(self, order_id: str) -> dict[str, int]:
        """Visits left per visit type of the credits `order_id` bought."""
        return {
            s.credit.visit_type: s.credit.remaining
            for s in self.credits.values()
            if s.order_id == order_id
        }


class FakeOrders(OnTables[PaymentsState]):
    async def get(self, order_id: str, *, lock: bool = False) -> Order:
        if order_id not in self._t.orders:
            raise PaymentNotFound(f"no payment {order_id!r}")
        return self._t.orders[order_id]

    async def reported(
        self, provider: str, provider_id: str | None, order_id: str | None
    ) -> Order | None:
        for order in self._t.orders.values():
            if provider_id and (order.provider, order.provider_id) == (provider, provider_id):
                return order
        found = self._t.orders.get(order_id or "")
        return found if found is not None and found.provider == provider else None

    async def add(self, order: Order, lines: Sequence[OrderLine]) -> None:
        for line in lines:
            if await self.active_line(line.booking_id) is not None:
                raise AlreadyStored(f"booking {line.booking_id} is in a live order")
        self._t.orders[order.id] = order
        self._t.lines.extend(lines)

    async def change(self, order_id: str, change: OrderChange) -> Order:
        changed = replace(self._t.orders[order_id], **change)
        self._t.orders[order_id] = changed
        return changed

    async def lines(self, order_id: str) -> list[OrderLine]:
        mine = [x for x in self._t.lines if x.order_id == order_id]
        return sorted(mine, key=lambda x: x.line_index)

    async def active_line(self, booking_id: str) -> OrderLine | None:
        return next(
            (x for x in self._t.lines if x.pays_for(booking_id) and x.state != "released"), None
        )

    async def change_line(self, order_id: str, booking_id: str, change: LineChange) -> None:
        self._t.lines = [
            _changed(x, change) if (x.order_id, x.booking_id) == (order_id, booking_id) else x
            for x in self._t.lines
        ]

    async def release_lines(self, order_id: str) -> None:
        self._t.lines = [
            replace(x, state="released") if x.order_id == order_id else x for x in self._t.lines
        ]


def _changed(line: OrderLine, change: LineChange) -> OrderLine:
    return replace(
        line,
        state=change.get("state", line.state),
        confirmed_booking_id=change.get("confirmed_booking_id", line.confirmed_booking_id),
        refunded_cents=change.get("refunded_cents", line.refunded_cents),
        cpt_codes=tuple(change.get("cpt_codes", line.cpt_codes)),
        icd10_codes=tuple(change.get("icd10_codes", line.icd10_codes)),
    )


class FakePromoUses(OnTables[PaymentsState]):
    async def usage(self, code: str, patient_id: str | None) -> PromoUsage:
        uses = [u for u in self._t.promo_uses if u[0] == code]
        return PromoUsage(len(uses), sum(1 for u in uses if u[1] == patient_id))

    async def record(self, code: str, patient_id: str, order_id: str, now: datetime) -> None:
        self._t.promo_uses.append((code, patient_id, order_id))

    async def release(self, order_id: str) -> None:
        self._t.promo_uses = [u for u in self._t.promo_uses if u[2] != order_id]


class FakeCredits(OnTables[PaymentsState]):
    async def of_patient(self, patient_id: str) -> tuple[Credit, ...]:
        mine = [s.credit for s in self._t.credits.values() if s.patient_id == patient_id]
        return tuple(sorted(mine, key=lambda c: (c.expires_at, c.id)))

    async def add(
        self, granted: Sequence[Credit], patient_id: str, order_id: str, now: datetime
    ) -> None:
        for credit in granted:
            self._t.credits.setdefault(credit.id, StoredCredit(credit, patient_id, order_id))

    async def reserve(self, credit_id: str, order_id: str, booking_id: str, now: datetime) -> bool:
        stored = self._t.credits.get(credit_id)
        if stored is None or stored.credit.remaining <= 0:
            return False
        self._move(credit_id, -1)
        self._t.credit_uses.append(CreditUse(credit_id, order_id, booking_id, "reserved", now))
        return True

    async def use(self, credit_id: str, order_id: str, booking_id: str, now: datetime) -> None:
        self._t.credit_uses.append(CreditUse(credit_id, order_id, booking_id, "used", now))

    async def settle_uses(self, order_id: str, state: str, now: datetime) -> list[str]:
        settled = []
        for use in self._t.credit_uses:
            if use.order_id == order_id and use.state == "reserved":
                use.state, use.at = state, now
                settled.append(use.credit_id)
        return settled

    async def return_use(self, order_id: str, booking_id: str, now: datetime) -> None:
        for use in self._t.credit_uses:
            if (use.order_id, use.booking_id) == (order_id, booking_id):
                use.state, use.at = "returned", now

    async def give_back(self, credit_ids: Iterable[str], now: datetime) -> None:
        for credit_id in credit_ids:
            stored = self._t.credits[credit_id]
            if stored.credit.remaining < stored.credit.granted:
                self._move(credit_id, +1)

    async def revoke(self, order_id: str, now: datetime) -> int:
        left = 0
        for credit_id, stored in list(self._t.credits.items()):
            if stored.order_id == order_id:
                left += stored.credit.remaining
                self._move(credit_id, -stored.credit.remaining)
        return left

    def _move(self, credit_id: str, visits: int) -> None:
        stored = self._t.credits[credit_id]
        credit = replace(stored.credit, remaining=stored.credit.remaining + visits)  # checks
        self._t.credits[credit_id] = replace(stored, credit=credit)


class FakeLedgerEntries(OnTables[PaymentsState]):
    async def append(self, entries: Sequence[Entry]) -> int:
        known = {e.entry_key for e in self._t.ledger}
        new = [e for e in entries if e.entry_key not in known]
        self._t.ledger.extend(new)
        return len(new)

    async def refunded_by_line(self, order_id: str) -> dict[int, int]:
        out: dict[int, int] = {}
        for e in self._t.ledger:
            if e.order_id == order_id and e.kind == "refund" and e.line_index is not None:
                out[e.line_index] = out.get(e.line_index, 0) - e.amount_cents
        return out


class FakeLedgerReports(OnTables[PaymentsState]):
    async def revenue(self, lo: datetime, hi: datetime, tz: ZoneInfo) -> list[RevenueRow]:
        sums: dict[tuple[str, str], list[int]] = {}
        for e in self._t.ledger:
            if lo <= e.occurred_at < hi and e.kind in MONEY_KINDS:
                key = (e.occurred_at.astimezone(tz).date().isoformat(), e.service or "")
                sums.setdefault(key, [0, 0, 0])[MONEY_KINDS.index(e.kind)] += e.amount_cents
        return [
            RevenueRow(day, service, charged, -refunded, adjusted)
            for (day, service), (charged, refunded, adjusted) in sorted(sums.items())
        ]

    async def booked(self, providers: Collection[str], since: datetime) -> list[Booked]:
        recent = {
            (e.provider, e.provider_ref)
            for e in self._t.ledger
            if e.provider in providers and e.occurred_at >= since and e.provider_ref
        }
        out = []
        for provider, ref in sorted(recent, key=str):
            mine = [e for e in self._t.ledger if (e.provider, e.provider_ref) == (provider, ref)]
            charged = sum(e.amount_cents for e in mine if e.kind == "charge")
            refunded = -sum(e.amount_cents for e in mine if e.kind == "refund")
            out.append(Booked(provider, str(ref), charged, refunded))
        return out


class FakeRefunds(OnTables[PaymentsState]):
    async def get(self, refund_id: str) -> Refund:
        return self._t.refunds[refund_id]

    async def by_key(self, key: str) -> Refund | None:
        return next((r for r in self._t.refunds.values() if r.idempotency_key == key), None)

    async def by_provider_id(self, provider: str, provider_refund_id: str) -> Refund | None:
        return next(
            (
                r
                for r in self._t.refunds.values()
                if (r.provider, r.provider_refund_id) == (provider, provider_refund_id)
            ),
            None,
        )

    async def of_order(self, order_id: str) -> list[Refund]:
        mine = [r for r in self._t.refunds.values() if r.order_id == order_id]
        return sorted(mine, key=lambda r: r.created_at)

    async def add(self, refund: Refund) -> None:
        if await self.by_key(refund.idempotency_key) is not None:
            raise AlreadyStored(f"refund key {refund.idempotency_key}")
        self._t.refunds[refund.id] = refund

    async def change(self, refund_id: str, change: RefundChange) -> Refund:
        changed = replace(self._t.refunds[refund_id], **change)
        self._t.refunds[refund_id] = changed
        return changed


class FakeRequestKeys(OnTables[PaymentsState]):
    async def find(self, scope: str, key: str) -> RequestKey | None:
        return self._t.request_keys.get((scope, key))

    async def add(self, scope: str, key: str, found: RequestKey, now: datetime) -> None:
        if (scope, key) in self._t.request_keys:
            raise AlreadyStored(f"key {key}")
        self._t.request_keys[scope, key] = found

    async def lock(self, scope: str, key: str, until: datetime | None) -> None:
        if (scope, key) in self._t.request_keys:
            found = self._t.request_keys[scope, key]
            self._t.request_keys[scope, key] = replace(found, locked_until=until)


class FakeWebhookEvents(OnTables[PaymentsState]):
    async def remember(self, event: GatewayEvent, now: datetime) -> bool:
        key = (event.provider, event.event_id)
        if key in self._t.webhook_events:
            return False
        self._t.webhook_events[key] = ("received", None)
        return True

    async def outcome(self, event: GatewayEvent, outcome: str, order_id: str | None) -> None:
        self._t.webhook_events[event.provider, event.event_id] = (outcome, order_id)


class FakeVisits(OnTables[PaymentsState]):
    async def visit(self, booking_id: str) -> Visit | None:
        return self._t.visits.get(booking_id)

    async def visited_before(self, patient_id: str, besides: Sequence[str]) -> bool:
        return patient_id in self._t.visited


class FakeNames(OnTables[PaymentsState]):
    async def full_name(self, patient_id: str) -> str | None:
        return self._t.names.get(patient_id)
