"""What payments need from outside: a payment gateway (Stripe, PayPal), in the platform's
terms; booking's visits; patients' names; and its unit of work with its repositories.

Money is integer minor units ("cents": whole yen for JPY) and an upper-case ISO 4217 code.
`provider_id` is always the id `create_payment` returned (Stripe PaymentIntent `pi_…`, PayPal
order id); every other call takes it back, so the ledger keeps one id per payment.

Adapters raise only the errors below, so checkout decides retry, failover or give-up without
knowing the vendor: `GatewayUnavailable` (and its `GatewayCircuitOpen`) is worth trying again
later or on the other gateway; `GatewayRejected` and `PaymentDeclined` never are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from clinicflow.infra.unit_of_work import Transaction

if TYPE_CHECKING:  # each aggregate's repositories, in its own ports module
    from clinicflow.payments.checkout.ports import PromoUses
    from clinicflow.payments.gateway_events.ports import WebhookEvents
    from clinicflow.payments.idempotency_keys.ports import RequestKeys
    from clinicflow.payments.ledger.ports import Credits, LedgerEntries, LedgerReports
    from clinicflow.payments.orders.ports import Orders
    from clinicflow.payments.refunds.ports import Refunds

# requires_action: the buyer still has to pay (enter a card, approve at PayPal, 3-D Secure).
# requires_capture: the buyer approved; nothing moves until `capture` (PayPal).
PaymentStatus = Literal[
    "requires_action", "requires_capture", "processing", "succeeded", "failed", "canceled"
]
RefundStatus = Literal["pending", "succeeded", "failed", "canceled"]
RefundReason = Literal["requested_by_customer", "duplicate", "fraudulent"]
EventType = Literal[
    "payment.requires_capture",
    "payment.processing",
    "payment.succeeded",
    "payment.failed",
    "payment.canceled",
    "refund.pending",
    "refund.succeeded",
    "refund.failed",
    "dispute.opened",
    "other",  # verified, but nothing payments acts on: answer 2xx and ignore
]


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What `create_payment` asks a gateway for: `amount_cents` of `currency` for our order
    `order_id`, with a `description` the buyer sees. `metadata` travels where the gateway
    keeps it (Stripe); every gateway keeps `order_id`."""

    order_id: str
    amount_cents: int
    currency: str
    description: str
    idempotency_key: str
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class GatewayRefundRequest:
    """What `refund` asks a gateway for: `amount_cents` back of the payment `provider_id`
    (None: what is left of it)."""

    provider_id: str
    amount_cents: int | None
    idempotency_key: str
    reason: RefundReason = "requested_by_customer"


@dataclass(frozen=True, slots=True)
class GatewayPayment:
    provider: str  # "stripe" | "paypal"
    provider_id: str
    status: PaymentStatus
    amount_cents: int
    currency: str
    amount_received_cents: int = 0
    # Stripe: what Stripe.js needs in the browser. Not a secret key, but it lets its holder
    # confirm this payment, so it stays out of logs (repr=False) and goes only to the buyer.
    client_secret: str | None = field(default=None, repr=False)
    approve_url: str | None = None  # PayPal: where to send the buyer to approve
    failure_code: str | None = None  # decline code of the last failed attempt


@dataclass(frozen=True, slots=True)
class GatewayRefund:
    provider: str
    provider_id: str  # the refund's own id
    payment_id: str  # the provider_id of the refunded payment
    status: RefundStatus
    amount_cents: int
    currency: str


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    """One payment as the gateway sees it, for reconciliation against the ledger."""

    provider: str
    provider_id: str
    order_id: str | None  # ours, from Stripe metadata[order_id] or PayPal custom_id
    status: PaymentStatus
    amount_cents: int
    amount_received_cents: int
    refunded_cents: int
    currency: str
    created: datetime


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """A verified webhook. Dedupe on (provider, event_id): gateways deliver more than once."""

    provider: str
    event_id: str
    type: EventType
    raw_type: str
    occurred_at: datetime
    provider_payment_id: str | None = None  # None when the vendor's event does not name it
    order_id: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    refund_id: str | None = None
    failure_code: str | None = None


class GatewayError(Exception):
    """A gateway call that did not go through. Messages never carry card or buyer data."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail


class GatewayUnavailable(GatewayError):
    """Transient: timeout, connection failure, 5xx, 429, or the circuit is open."""

    def __init__(self, provider: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(provider, detail)
        self.retry_after = retry_after  # seconds, when the gateway said so


class GatewayCircuitOpen(GatewayUnavailable):
    """Recent calls failed so often that this one was not even attempted."""


class GatewayRejected(GatewayError):
    """Permanent: the gateway refused the request (bad state, bad parameters, bad key …)."""

    def __init__(self, provider: str, detail: str, code: str | None = None) -> None:
        super().__init__(provider, detail)
        self.code = code  # the vendor's error code or issue, when it gives one


class PaymentDeclined(GatewayRejected):
    """The buyer's bank or wallet said no; `code` is the decline code. Ask for another method."""


class WebhookSignatureInvalid(GatewayError):
    """Not from the gateway, altered, or too old: answer 400 and do nothing."""


class PaymentGateway(Protocol):
    @property
    def provider(self) -> str: ...

    async def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        """Starts a payment the buyer completes in the browser. A retry with the same
        `request.idempotency_key` returns the same payment instead of creating a second one."""
        ...

    async def capture(self, provider_id: str, idempotency_key: str) -> GatewayPayment:
        """Takes the money of an approved payment (PayPal). Stripe captures by itself, so
        there it only reports the current state. Safe to repeat: a payment already captured
        is reported, not captured again. Use one key per attempt, the same for its retries,
        and a new one after a decline (the buyer may approve another funding source)."""
        ...

    async def retrieve(self, provider_id: str) -> GatewayPayment: ...

    async def cancel(self, provider_id: str) -> GatewayPayment:
        """Gives up a payment that has not taken money yet."""
        ...

    async def refund(self, request: GatewayRefundRequest) -> GatewayRefund:
        """`request.amount_cents=None` refunds what is left; several partial refunds may
        follow."""
        ...

    def records(
        self, since: datetime, provider_ids: Collection[str] = ()
    ) -> AsyncIterator[GatewayRecord]:
        """Payments created at or after `since` that the gateway can list, and each of
        `provider_ids` (the ledger's) whenever it was created; each at most once."""
        ...

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Verifies, then parses, one webhook delivery. `headers` names are matched without
        regard to case; `body` must be the raw bytes received. Raises
        `WebhookSignatureInvalid`, or `GatewayUnavailable` when verification itself needs the
        gateway and it is down (answer 5xx so the gateway delivers again)."""
        ...


# -- What payments needs from the other contexts; bootstrap implements these with their
# -- own use cases (booking confirms a paid hold itself, as the patient, with its rules).


@dataclass(frozen=True, slots=True)
class Visit:
    """A booking as payments sees it: ids, times and its status at this instant (a hold past
    its expiry reads "expired", whatever is stored)."""

    booking_id: str
    status: str
    service: str
    visit_type: str
    practitioner: str
    start: datetime
    duration_min: int
    patient_id: str | None


class VisitLost(Exception):
    """A paid hold could not become a booking: it lapsed and the slot was taken meanwhile,
    or it was released. The message says why, for the refund's reason."""


class Visits(Protocol):
    """Booking's visits, read in the payments unit of work's own transaction."""

    async def visit(self, booking_id: str) -> Visit | None:
        """The booking now."""
        ...

    async def visited_before(self, patient_id: str, besides: Sequence[str]) -> bool:
        """Whether the patient has had a visit (checked in, completed, missed, or confirmed
        and already started) other than the bookings `besides` (the ones being paid)."""
        ...


class BookingDesk(Protocol):
    async def confirm(self, booking_id: str, patient_id: str) -> str:
        """Turns a paid hold into the patient's booking, in booking's own transaction: the
        hold itself while it lasts, else the same slot booked anew if it is still free.
        Returns the confirmed booking's id (the hold's, or the new one); already confirmed
        for this patient is returned as it is. Raises `VisitLost` otherwise."""
        ...


class PatientNames(Protocol):
    """Patients' names, read in the payments unit of work's own transaction."""

    async def full_name(self, patient_id: str) -> str | None:
        """The patient's name for a receipt; the caller audits the read."""
        ...


# -- The unit of work: one transaction over the payments tables (and booking's visits).


class AlreadyStored(Exception):
    """A row another transaction stored first under the same unique key (a booking in two
    live orders, an idempotency key used twice at once); this transaction is spoilt."""


class PaymentsUnitOfWork(Transaction, Protocol):
    @property
    def orders(self) -> Orders: ...

    @property
    def promo_uses(self) -> PromoUses: ...

    @property
    def credits(self) -> Credits: ...

    @property
    def entries(self) -> LedgerEntries: ...

    @property
    def reports(self) -> LedgerReports: ...

    @property
    def refunds(self) -> Refunds: ...

    @property
    def request_keys(self) -> RequestKeys: ...

    @property
    def webhook_events(self) -> WebhookEvents: ...

    @property
    def visits(self) -> Visits: ...

    @property
    def patient_names(self) -> PatientNames: ...
