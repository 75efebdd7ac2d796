"""Checkout's rules on the in-memory unit of work: an order is priced as quoted and paid
only on the gateway's word; what a paid order publishes and audits; a refused checkout
leaves nothing behind; package credits and promotion codes; an Idempotency-Key replays the
first answer, also while the first request is still at the gateway; failover.

Seed prices (config/clinic.yaml): alternative medicine initial 119, GAPS initial 195,
weight loss TBD; 10 % off two services; GAPS starter 459 (initial + 4 follow-ups).
"""

from __future__ import annotations

import asyncio

import pytest

from clinicflow.catalog import Catalog
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.domain import PromotionPatientLimitReached, VisitLine
from clinicflow.payments.errors import (
    BookingAlreadyInOrder,
    BookingNotPayable,
    GatewayDown,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    UnpriceableOrder,
)
from clinicflow.payments.ports import GatewayPayment, PaymentRequest
from clinicflow.shared.actor import Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import DomainError, Forbidden
from support.fake_payments import Gateway, Payments, patient, staff

ME = patient("p1")


def stripe_payments(p: Payments) -> list[str]:
    return list(p.gateways["stripe"].created)


async def test_an_order_is_priced_as_quoted_and_waits_for_the_gateway(p: Payments) -> None:
    alt = p.visit("b-alt")
    gaps = p.visit("b-gaps", service="gaps_coaching")
    quoted = await p.quotes.quote(
        ME,
        [VisitLine("alternative_medicine", "initial"), VisitLine("gaps_coaching", "initial")],
        None,
        None,
        True,
    )

    made, replayed = await p.checkout.create(ME, CheckoutRequest((alt, gaps), method="stripe"))

    order = made.order
    assert replayed is False
    assert (
        (order.subtotal_cents, order.discount_cents, order.total_cents)
        == (
            quoted.subtotal_cents,
            quoted.discount_cents,
            quoted.total_cents,
        )
        == (31_400, 3_140, 28_260)
    )
    assert [(x.booking_id, x.net_cents, x.state) for x in order.bookings] == [
        ("b-alt", 10_710, "confirmed"),
        ("b-gaps", 17_550, "confirmed"),
    ]
    assert (order.status, order.provider, order.patient_id) == ("pending", "stripe", "p1")
    assert made.client_secret is not None
    assert made.client_secret.startswith(order.provider_id or "?")
    assert p.state.ledger == []  # the browser's word is not a payment
    assert p.ledger.published == []
    assert p.audited() == [("create", order.id)]
    assert ("p1", "quote") in [(r.access.patient_id, r.action) for r in p.trail.rows]


async def test_a_paid_hold_is_confirmed_booked_once_and_published_once(p: Payments) -> None:
    hold = p.visit("hold-1", None, status="held")
    made, _ = await p.checkout.create(ME, CheckoutRequest((hold,), method="stripe"))
    provider_id = made.order.provider_id
    assert provider_id is not None
    p.gateways["stripe"].pay(provider_id)
    headers, body = p.gateways["stripe"].signed_event("payment.succeeded", provider_id, "evt_1")

    first = await p.webhooks.receive("stripe", headers, body)
    again = await p.webhooks.receive("stripe", headers, body)
    late = await p.deliver("stripe", "payment.processing", provider_id)

    assert (first, again, late) == ("paid", "duplicate", "unchanged")
    order = p.state.orders[made.order.id]
    assert (order.status, order.provider_id) == ("paid", provider_id)
    assert [(e.kind, e.amount_cents, e.provider, e.provider_ref) for e in p.state.ledger] == [
        ("charge", 11_900, "stripe", provider_id)
    ]
    assert p.ledger.types() == ["payment.succeeded"]
    event = p.ledger.published[0].payload
    assert (event["order_id"], event["total_cents"], event["booking_ids"]) == (
        order.id,
        11_900,
        ["hold-1"],
    )
    assert p.audited() == [("create", order.id), ("paid", order.id)]
    assert [x.state for x in p.state.lines] == ["confirmed"]
    assert p.state.visits["hold-1"].status == "confirmed"  # booking confirmed the hold
    assert p.state.visits["hold-1"].patient_id == "p1"


async def test_the_amount_must_match_what_was_ordered(p: Payments) -> None:
    made, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b1"),), method="stripe"))
    provider_id = made.order.provider_id
    assert provider_id is not None
    stripe = p.gateways["stripe"]
    stripe._payments[provider_id] = GatewayPayment(
        "stripe", provider_id, "succeeded", 100, "USD", amount_received_cents=100
    )

    outcome = await p.deliver("stripe", "payment.succeeded", provider_id)

    assert outcome == "amount_mismatch"
    assert p.state.orders[made.order.id].status == "pending"
    assert p.state.ledger == []
    assert p.ledger.published == []


async def test_a_refused_checkout_leaves_nothing_behind(p: Payments) -> None:
    taken = p.visit("b1")
    first, _ = await p.checkout.create(ME, CheckoutRequest((taken,), method="stripe"))
    before = (dict(p.state.orders), list(p.state.lines), list(p.ledger.audited))
    p.visit("tbd", service="weight_loss")
    p.visit("gone", status="cancelled")
    p.visit("theirs", "p2")

    refusals: dict[str, DomainError] = {}
    for name, ids in {
        "in_another_order": (taken,),
        "unpriceable": ("tbd",),
        "cancelled": ("gone",),
        "someone_elses": ("theirs",),
    }.items():
        with pytest.raises(DomainError) as caught:
            await p.checkout.create(ME, CheckoutRequest(ids, method="stripe"))
        refusals[name] = caught.value

    assert isinstance(refusals["in_another_order"], BookingAlreadyInOrder)
    assert refusals["in_another_order"].extra["payment_id"] == first.order.id
    assert isinstance(refusals["unpriceable"], UnpriceableOrder)
    assert "TBD" in refusals["unpriceable"].detail
    assert isinstance(refusals["cancelled"], BookingNotPayable)
    assert isinstance(refusals["someone_elses"], BookingNotPayable)
    assert (dict(p.state.orders), list(p.state.lines), list(p.ledger.audited)) == before
    assert p.ledger.published == []
    assert len(stripe_payments(p)) == 1


async def test_front_desk_takes_cash_at_once_and_a_patient_may_not(p: Payments) -> None:
    booking = p.visit("b1")
    cash = CheckoutRequest((booking,), method="in_clinic", tender="cash")

    with pytest.raises(Forbidden):
        await p.checkout.create(ME, cash)
    made, _ = await p.checkout.create(staff(Role.FRONT_DESK), cash)

    assert [(r.actor_id, r.action, r.outcome) for r in p.trail.rows] == [
        ("patient:p1", "in_clinic", "denied")
    ]
    assert (made.order.status, made.order.patient_id, made.order.tender) == ("paid", "p1", "cash")
    assert [(e.kind, e.amount_cents, e.provider) for e in p.state.ledger] == [
        ("charge", 11_900, "in_clinic")
    ]
    assert p.ledger.types() == ["payment.succeeded"]
    assert stripe_payments(p) == []


async def test_a_package_credit_pays_for_the_visit_it_covers(p: Payments) -> None:
    desk = staff(Role.FRONT_DESK)
    package = CheckoutRequest(
        package="gaps_starter", method="in_clinic", tender="card_terminal", patient_id="p1"
    )
    bought, _ = await p.checkout.create(desk, package)
    gaps = p.visit("b-gaps", service="gaps_coaching")
    alt = p.visit("b-alt")

    covered, _ = await p.checkout.create(ME, CheckoutRequest((gaps,), method="stripe"))
    not_covered, _ = await p.checkout.create(ME, CheckoutRequest((alt,), method="stripe"))

    assert bought.order.total_cents == 45_900
    assert (covered.order.status, covered.order.total_cents) == ("paid", 0)
    credit_id = covered.order.bookings[0].credit_id
    assert credit_id is not None
    assert credit_id.startswith(bought.order.id)
    assert not_covered.order.total_cents == 11_900
    assert p.state.remaining(bought.order.id) == {"initial": 0, "followup": 4}
    assert [(u.credit_id, u.state) for u in p.state.credit_uses] == [(credit_id, "used")]
    assert sum(e.visits for e in p.state.ledger if e.provider == "credit") == 5 - 1
    assert p.state.entries(covered.order.id) == [("credit_use", 0, -1)]


async def test_a_visit_bought_with_its_package_uses_the_new_credit_at_once(p: Payments) -> None:
    gaps = p.visit("b-gaps", service="gaps_coaching")
    both = CheckoutRequest((gaps,), "gaps_starter", method="in_clinic", tender="cash")

    made, _ = await p.checkout.create(staff(), both)

    assert (made.order.status, made.order.total_cents) == ("paid", 45_900)
    assert p.state.remaining(made.order.id) == {"initial": 0, "followup": 4}
    assert sorted(p.state.entries(made.order.id)) == [
        ("charge", 45_900, 0),
        ("credit_purchase", 0, 1),
        ("credit_purchase", 0, 4),
        ("credit_use", 0, -1),
    ]


async def test_a_promotion_code_is_one_use_per_patient_until_its_order_is_canceled(
    p: Payments,
) -> None:
    def welcome(booking_id: str) -> CheckoutRequest:
        return CheckoutRequest((p.visit(booking_id),), method="stripe", promo_code="welcome15")

    first, _ = await p.checkout.create(ME, welcome("b1"))
    with pytest.raises(PromotionPatientLimitReached):
        await p.checkout.create(ME, welcome("b2"))
    await p.orders.cancel(ME, first.order.id)
    again, _ = await p.checkout.create(ME, welcome("b3"))

    assert (first.order.total_cents, first.order.promo_code) == (10_115, "WELCOME15")
    assert (again.order.total_cents, again.order.promo_code) == (10_115, "WELCOME15")
    assert [u[2] for u in p.state.promo_uses] == [again.order.id]
    assert p.ledger.types() == ["payment.canceled"]


async def test_the_same_key_answers_the_same_order_and_charges_once(p: Payments) -> None:
    req = CheckoutRequest((p.visit("b1"),), method="stripe")

    first, replayed_first = await p.checkout.create(ME, req, key="k-1")
    again, replayed_again = await p.checkout.create(ME, req, key="k-1")
    other = CheckoutRequest((p.visit("b2"),), method="stripe")
    with pytest.raises(IdempotencyKeyReused):
        await p.checkout.create(ME, other, key="k-1")
    theirs, _ = await p.checkout.create(patient("p2"), CheckoutRequest((p.visit("b3", "p2"),)))

    assert (replayed_first, replayed_again) == (False, True)
    assert again.order.id == first.order.id
    assert again.client_secret == first.client_secret  # looked up at the gateway again
    assert len(p.state.orders) == 2
    assert theirs.order.id != first.order.id
    assert len(stripe_payments(p)) == 2
    stored = next(iter(p.state.request_keys.values()))
    assert (stored.operation, stored.order_id) == ("checkout", first.order.id)
    assert stored.locked_until is None  # released once answered


class ParkedGateway(Gateway):
    """Stripe, holding each new payment until the test lets it go."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__(clock, "stripe")
        self.arrived = asyncio.Event()
        self.go = asyncio.Event()
        self.made = 0  # payments that reached the gateway

    async def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        self.arrived.set()
        await self.go.wait()
        self.made += 1
        return await super().create_payment(request)


async def test_a_duplicate_while_the_first_is_at_the_gateway_never_reaches_it(
    catalog: Catalog, clock: FixedClock
) -> None:
    p = Payments.build(catalog, clock)
    parked = ParkedGateway(clock)
    p.gateways["stripe"] = parked
    p.checkout.gateways = {"stripe": parked}
    req = CheckoutRequest((p.visit("b1"),), method="stripe")

    first = asyncio.create_task(p.checkout.create(ME, req, key="k-parallel"))
    await parked.arrived.wait()
    with pytest.raises(IdempotencyKeyInUse):  # at once: it does not wait for the first
        await asyncio.wait_for(p.checkout.create(ME, req, key="k-parallel"), timeout=5)
    parked.go.set()
    made, _ = await first
    later, replayed = await p.checkout.create(ME, req, key="k-parallel")

    assert (later.order.id, replayed) == (made.order.id, True)
    assert parked.made == 1
    assert len(p.state.orders) == 1


async def test_with_stripe_down_the_same_order_is_paid_through_paypal(p: Payments) -> None:
    p.gateways["stripe"].outage = 1
    req = CheckoutRequest((p.visit("b1"),), method="stripe")

    with pytest.raises(GatewayDown) as down:
        await p.checkout.create(ME, req)
    order_id = down.value.extra["payment_id"]
    switched = await p.orders.pay_with(ME, order_id, "paypal", None, False)
    p.gateways["stripe"].outage = 1
    fell_back, _ = await p.checkout.create(
        ME, CheckoutRequest((p.visit("b2"),), method="stripe", fallback=True)
    )

    assert down.value.extra["alternatives"] == ["paypal"]
    assert p.state.orders[order_id].status == "pending"
    assert (switched.order.id, switched.order.provider) == (order_id, "paypal")
    assert switched.approve_url is not None
    assert (fell_back.order.provider, fell_back.fallback_from) == ("paypal", "stripe")


async def test_without_the_backup_flag_an_outage_offers_no_other_gateway(
    catalog: Catalog, clock: FixedClock
) -> None:
    async def never() -> bool:
        return False

    p = Payments.build(catalog, clock, backup_allowed=never)
    p.gateways["stripe"].outage = 2
    req = CheckoutRequest((p.visit("b1"),), method="stripe", fallback=True)

    with pytest.raises(GatewayDown) as down:
        await p.checkout.create(ME, req)

    assert down.value.extra["alternatives"] == []
    assert "try again in a minute" in down.value.detail


async def test_a_quote_counts_a_patients_credits_only_for_them_or_staff_who_may_read(
    p: Payments,
) -> None:
    package = CheckoutRequest(
        package="gaps_starter", method="in_clinic", tender="cash", patient_id="p1"
    )
    await p.checkout.create(staff(), package)
    gaps = [VisitLine("gaps_coaching", "initial")]

    mine = await p.quotes.quote(ME, gaps, None, "p2", True)  # a patient prices for themself
    for_them = await p.quotes.quote(staff(Role.BILLING), gaps, None, "p1", True)
    other = await p.quotes.quote(patient("p2"), gaps, None, None, True)
    with pytest.raises(Forbidden):
        await p.quotes.quote(staff(Role.ANALYST), gaps, None, "p1", True)

    assert (mine.total_cents, for_them.total_cents, other.total_cents) == (0, 0, 19_500)
    assert p.state.remaining(next(iter(p.state.orders))) == {"initial": 1, "followup": 4}
