"""The payments context in memory, for its use-case tests: a fake unit of work over
in-memory repositories (`FakePaymentsUnitOfWork`), booking's visits and desk, an audit
trail that keeps its rows in a list, and `Payments` — every payments use case wired as
bootstrap wires it, over those fakes and the in-memory `FakeGateway` (the network edge).

The repositories (support/fake_payments_tables.py) keep the rules the SQL ones keep where a
use case leans on them: a booking is in one live order at a time, a refund's gateway key and
an Idempotency-Key are unique (`AlreadyStored`), a ledger entry or a webhook delivery
recorded twice is recorded once, a credit stays within 0..granted. A unit of work that ends
without `commit()` leaves the state as it found it (`TablesTransaction`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime

from clinicflow.adapters.payment_gateways.fake import FakeGateway
from clinicflow.bootstrap import payments as wiring
from clinicflow.catalog import Catalog
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.domain.orders import Order
from clinicflow.payments.guard import PaymentGuard
from clinicflow.payments.idempotency_keys.service import IdempotencyKeys
from clinicflow.payments.ports import (
    EventType,
    GatewayEvent,
    GatewayPayment,
    GatewayRefund,
    GatewayRefundRequest,
    PaymentGateway,
    PaymentRequest,
    Visit,
    VisitLost,
)
from clinicflow.payments.quotes.service import Quoter
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from support.fake_payments_tables import (
    FakeCredits,
    FakeLedgerEntries,
    FakeLedgerReports,
    FakeNames,
    FakeOrders,
    FakePromoUses,
    FakeRefunds,
    FakeRequestKeys,
    FakeVisits,
    FakeWebhookEvents,
    PaymentsState,
)
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_trail import FakeTrail
from support.fake_uow import FakeFactory, Ledger

# Monday 2026-11-30 09:00 in the clinic (UTC-6): six days after the suite's clock (NOW).
START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def patient(patient_id: str = "p1") -> Actor:
    return Actor(
        kind="patient", id=f"patient:{patient_id}", role=Role.PATIENT, patient_id=patient_id
    )


def staff(role: Role = Role.FRONT_DESK) -> Actor:
    return Actor(kind="user", id=f"user-{role.value}", role=role)


class FakePaymentsUnitOfWork(TablesTransaction[PaymentsState]):
    orders = Repository(FakeOrders)
    promo_uses = Repository(FakePromoUses)
    credits = Repository(FakeCredits)
    entries = Repository(FakeLedgerEntries)
    reports = Repository(FakeLedgerReports)
    refunds = Repository(FakeRefunds)
    request_keys = Repository(FakeRequestKeys)
    webhook_events = Repository(FakeWebhookEvents)
    visits = Repository(FakeVisits)
    patient_names = Repository(FakeNames)


class Gateway(FakeGateway):
    """The in-memory gateway, keeping each refund it made (`refunds`) and each payment it
    was asked to create (`created`), once however often it is asked again."""

    def __init__(self, clock: Clock, provider: str, *, needs_capture: bool = False) -> None:
        super().__init__(clock, provider, needs_capture=needs_capture, webhook_secret=provider)
        self.refunds: dict[str, GatewayRefund] = {}
        self.created: dict[str, GatewayPayment] = {}
        self.verified: GatewayEvent | None = None  # the next delivery, as the adapter parses it
        # Runs once a refund is made, before the caller hears of it (a webhook that overtakes
        # the answer).
        self.while_refunding: Callable[[GatewayRefund], Awaitable[object]] | None = None

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        if self.verified is not None:
            event, self.verified = self.verified, None
            return event
        return await super().parse_webhook(headers, body)

    async def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        made = await super().create_payment(request)
        self.created[made.provider_id] = made
        return made

    async def refund(self, request: GatewayRefundRequest) -> GatewayRefund:
        made = await super().refund(request)
        self.refunds[made.provider_id] = made
        if self.while_refunding is not None:
            await self.while_refunding(made)
        return made

    def refunded(self, provider_id: str | None) -> list[int]:
        """The amounts refunded of one payment, in the order they were made."""
        return [r.amount_cents for r in self.refunds.values() if r.payment_id == provider_id]


class FakeDesk(OnTables[PaymentsState]):
    """Booking's desk: a paid hold becomes the patient's booking, unless a test lost it."""

    def __init__(self, state: PaymentsState) -> None:
        super().__init__(state)
        self.lost: dict[str, str] = {}  # booking id → why it cannot be booked
        self.rebooked: dict[str, str] = {}  # hold id → the new booking's id

    async def confirm(self, booking_id: str, patient_id: str) -> str:
        if booking_id in self.lost:
            raise VisitLost(self.lost[booking_id])
        booked = self.rebooked.get(booking_id, booking_id)
        visit = self._t.visits[booking_id]
        self._t.visits[booked] = replace(
            visit, booking_id=booked, status="confirmed", patient_id=patient_id
        )
        return booked


@dataclass(frozen=True)
class Payments(wiring.Payments):
    """Every payments use case over one in-memory state, as bootstrap/payments.py wires them
    (its `Payments`), with that state and the fakes the use cases were given."""

    gateways: dict[str, Gateway]  # the same gateways, as the fakes they are
    state: PaymentsState
    ledger: Ledger  # what committed units of work published and audited
    trail: FakeTrail
    desk: FakeDesk
    uow: FakeFactory[FakePaymentsUnitOfWork]

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        clock: Clock,
        *,
        backup_allowed: Callable[[], Awaitable[bool]] | None = None,
    ) -> Payments:
        state, ledger = PaymentsState(), Ledger()
        uow = FakeFactory(lambda write: FakePaymentsUnitOfWork(ledger, state, write=write))
        trail, desk = FakeTrail(), FakeDesk(state)
        gateways = {
            "stripe": Gateway(clock, "stripe"),
            "paypal": Gateway(clock, "paypal", needs_capture=True),
        }
        ports: dict[str, PaymentGateway] = dict(gateways)
        guard = PaymentGuard(trail=trail, clock=clock)
        keys = IdempotencyKeys(secret=b"unit-test-secret", uow=uow)
        quoter = Quoter(catalog=catalog)
        made = wiring.payments_over(
            uow,
            clock,
            catalog,
            guard=guard,
            desk=desk,
            gateways=ports,
            reconciled=ports,
            keys=keys,
            quoter=quoter,
            backup_allowed=backup_allowed,
        )
        wired = {f.name: getattr(made, f.name) for f in fields(made) if f.name != "gateways"}
        return cls(
            **wired, gateways=gateways, state=state, ledger=ledger, trail=trail, desk=desk, uow=uow
        )

    def visit(
        self,
        booking_id: str,
        patient_id: str | None = "p1",
        *,
        service: str = "alternative_medicine",
        visit_type: str = "initial",
        status: str = "confirmed",
        start: datetime = START,
    ) -> str:
        """A booking as payments reads it (a hold: `status="held"`, no patient)."""
        practitioner = "gaps_coach" if service == "gaps_coaching" else "doctor1"
        duration = 60 if service == "gaps_coaching" else 20
        self.state.visits[booking_id] = Visit(
            booking_id, status, service, visit_type, practitioner, start, duration, patient_id
        )
        return booking_id

    def set_status(self, booking_id: str, status: str) -> None:
        self.state.visits[booking_id] = replace(self.state.visits[booking_id], status=status)

    async def deliver(self, method: str, event_type: EventType, provider_id: str) -> str:
        """A webhook the gateway signs, delivered; what it did."""
        headers, body = self.gateways[method].signed_event(event_type, provider_id)
        return await self.webhooks.receive(method, headers, body)

    async def paid_by_stripe(self, actor: Actor, *booking_ids: str) -> Order:
        """An order for the bookings, paid at Stripe and reported by its webhook."""
        made, _ = await self.checkout.create(actor, CheckoutRequest(booking_ids, method="stripe"))
        provider_id = made.order.provider_id
        assert provider_id is not None
        self.gateways["stripe"].pay(provider_id)
        assert await self.deliver("stripe", "payment.succeeded", provider_id) == "paid"
        return self.state.orders[made.order.id]

    def audited(self) -> list[tuple[str, str | None]]:
        """(action, resource id) of every audit entry a committed unit of work wrote."""
        return [(e.action, e.resource_id) for e, _ in self.ledger.audited]
