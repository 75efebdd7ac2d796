"""An order once placed, on the in-memory unit of work: who may read it, PayPal's capture
(and a decline at capture), cancelling an unpaid order and what that frees, staff's sync
after a lost webhook, billing codes, the receipt, revenue, refunds the gateway reports on
its own, and reconciliation with the gateway's records."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.errors import InvalidCodes, PaymentDeclinedError, PaymentStateConflict
from clinicflow.payments.orders.commands import LineCodes
from clinicflow.payments.ports import EventType, GatewayEvent, GatewayRefund, GatewayRefundRequest
from clinicflow.payments.refunds.commands import RefundRequest
from clinicflow.shared.actor import Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, NotFound
from support.fake_payments import Payments, patient, staff

ME = patient("p1")


async def test_a_patient_reads_their_own_orders_only_and_each_read_is_audited(
    p: Payments,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))

    mine = await p.orders.get(ME, order.id)
    with pytest.raises(NotFound):
        await p.orders.get(patient("p2"), order.id)
    with pytest.raises(Forbidden):
        await p.orders.get(staff(Role.ANALYST), order.id)

    assert (mine.id, mine.status, mine.total_cents) == (order.id, "paid", 11_900)
    rows = [(r.actor_id, r.action, r.access.resource_id, r.outcome) for r in p.trail.rows]
    assert rows == [
        ("patient:p1", "read", order.id, "allowed"),
        ("patient:p2", "read", order.id, "denied"),  # answered as if it did not exist
        ("user-analyst", "read", order.id, "denied"),
    ]


async def test_staff_find_a_visits_order_by_its_booking_and_the_read_is_audited(
    p: Payments,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    billing = staff(Role.BILLING)

    found = await p.orders.of_booking(billing, "b1")
    assert found is not None
    assert (found.id, [line.booking_id for line in found.bookings]) == (order.id, ["b1"])
    assert await p.orders.of_booking(billing, "b-unpaid") is None
    assert await p.orders.of_booking(patient("p2"), "b1") is None  # not theirs: as if none
    with pytest.raises(Forbidden):
        await p.orders.of_booking(staff(Role.ANALYST), "b1")

    rows = [(r.actor_id, r.action, r.access.resource_id, r.outcome) for r in p.trail.rows]
    assert rows == [
        ("user-billing", "read", order.id, "allowed"),
        ("patient:p2", "read", order.id, "denied"),
        ("user-analyst", "read", "*", "denied"),
    ]


async def test_paypal_is_paid_once_captured_and_a_decline_at_capture_fails_the_order(
    p: Payments,
) -> None:
    made, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b1"),), method="paypal"))
    declined, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b2"),), method="paypal"))
    paypal = p.gateways["paypal"]
    assert made.order.provider_id is not None
    assert declined.order.provider_id is not None
    paypal.pay(made.order.provider_id)
    paypal.pay(declined.order.provider_id, decline_code="INSTRUMENT_DECLINED")

    captured = await p.orders.capture(ME, made.order.id)
    with pytest.raises(PaymentDeclinedError):
        await p.orders.capture(ME, declined.order.id)

    assert (captured.status, captured.provider) == ("paid", "paypal")
    failed = p.state.orders[declined.order.id]
    assert (failed.status, failed.failure_code) == ("failed", "INSTRUMENT_DECLINED")
    assert p.ledger.types() == ["payment.succeeded", "payment.failed"]
    assert p.ledger.published[1].payload["failure_code"] == "INSTRUMENT_DECLINED"
    assert [e.provider_ref for e in p.state.ledger] == [made.order.provider_id]


async def test_an_approved_paypal_order_is_captured_by_its_webhook(p: Payments) -> None:
    made, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b1"),), method="paypal"))
    assert made.order.provider_id is not None
    p.gateways["paypal"].pay(made.order.provider_id)

    outcome = await p.deliver("paypal", "payment.requires_capture", made.order.provider_id)

    assert outcome == "unchanged"  # pending already, since the payment was started
    assert p.state.orders[made.order.id].status == "paid"  # and captured on the way
    assert p.state.money(made.order.id) == 11_900


async def test_cancelling_an_unpaid_order_frees_its_bookings_and_a_paid_one_is_refunded_instead(
    p: Payments,
) -> None:
    made, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b1"),), method="stripe"))
    paid = await p.paid_by_stripe(ME, p.visit("b2"))

    canceled = await p.orders.cancel(ME, made.order.id)
    with pytest.raises(PaymentStateConflict):
        await p.orders.cancel(ME, paid.id)
    again, _ = await p.checkout.create(ME, CheckoutRequest(("b1",), method="stripe"))

    assert canceled.status == "canceled"
    assert canceled.bookings[0].state == "released"
    assert made.order.provider_id is not None
    at_stripe = await p.gateways["stripe"].retrieve(made.order.provider_id)
    assert at_stripe.status == "canceled"  # the buyer cannot pay it any more
    assert again.order.id != made.order.id
    assert p.ledger.types().count("payment.canceled") == 1


async def test_sync_recovers_a_payment_whose_webhook_was_lost(p: Payments) -> None:
    hold = p.visit("hold-1", None, status="held")
    made, _ = await p.checkout.create(ME, CheckoutRequest((hold,), method="stripe"))
    assert made.order.provider_id is not None

    unpaid = await p.orders.sync(staff(), made.order.id)
    p.gateways["stripe"].pay(made.order.provider_id)
    synced = await p.orders.sync(staff(), made.order.id)
    webhook = await p.deliver("stripe", "payment.succeeded", made.order.provider_id)

    assert unpaid.status == "pending"  # the browser saying it paid is not enough
    assert (synced.status, synced.bookings[0].state) == ("paid", "confirmed")
    assert webhook == "unchanged"
    assert p.state.money(made.order.id) == 11_900


async def test_billing_codes_are_normalized_and_refused_when_malformed(p: Payments) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    desk = staff()

    coded = await p.orders.set_codes(desk, order.id, [LineCodes("b1", (" 99203 ",), ("e66.9",))])
    with pytest.raises(InvalidCodes) as bad:
        await p.orders.set_codes(desk, order.id, [LineCodes("b1", ("12",), ("obesity",))])
    with pytest.raises(InvalidCodes):
        await p.orders.set_codes(desk, order.id, [LineCodes("other", ("99203",), ())])

    assert (coded.bookings[0].cpt_codes, coded.bookings[0].icd10_codes) == (("99203",), ("E66.9",))
    assert "12" in bad.value.detail
    assert "obesity" in bad.value.detail
    assert p.state.lines[0].icd10_codes == ("E66.9",)
    assert p.audited()[-1] == ("set_codes", order.id)


async def test_a_receipt_comes_once_paid_names_the_patient_and_its_read_is_audited(
    p: Payments,
) -> None:
    p.state.names["p1"] = "Pat Example"
    made, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b0"),), method="stripe"))
    order = await p.paid_by_stripe(ME, p.visit("b1"))

    with pytest.raises(PaymentStateConflict):
        await p.receipts.receipt(ME, made.order.id)
    receipt = await p.receipts.receipt(ME, order.id)

    assert (receipt.patient_name, receipt.total, receipt.method) == (
        "Pat Example",
        "$119.00",
        "Card, paid online (Stripe)",
    )
    assert [(x.description, x.practitioner, x.date_of_service) for x in receipt.lines] == [
        ("Alternative medicine, initial", "Dr. Elena Marsh, Physician (MD)", "2026-11-30")
    ]
    assert ("read_receipt", order.id) in [(r.action, r.access.resource_id) for r in p.trail.rows]


async def test_revenue_sums_the_ledger_per_day_and_service_for_those_who_may_see_it(
    p: Payments, clock: FixedClock
) -> None:
    one = await p.paid_by_stripe(ME, p.visit("b1"))
    await p.paid_by_stripe(ME, p.visit("b2", service="gaps_coaching"))
    await p.refunds.refund(staff(Role.BILLING), one.id, RefundRequest(None, 1_900, "x"))
    day = clock.now() - timedelta(hours=15)  # the clinic's midnight, in UTC

    rows = await p.revenue.revenue(staff(Role.ANALYST), day, day + timedelta(days=1))
    with pytest.raises(Forbidden):
        await p.revenue.revenue(ME, day, day + timedelta(days=1))

    assert [(r.day, r.service, r.charged_cents, r.refunded_cents) for r in rows] == [
        ("2026-11-24", "alternative_medicine", 11_900, 1_900),
        ("2026-11-24", "gaps_coaching", 19_500, 0),
    ]
    assert sum(r.net_cents for r in rows) == p.state.money()


async def test_a_refund_made_at_the_gateway_is_booked_once_and_one_it_gave_up_on_undone(
    p: Payments,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    ours, _ = await p.refunds.refund(staff(Role.BILLING), order.id, RefundRequest(None, 1_000, "x"))
    stripe = p.gateways["stripe"]
    outside = await stripe.refund(GatewayRefundRequest(order.provider_id or "", 2_000, "dashboard"))

    def event(kind: EventType, refund_id: str, cents: int, n: int = 1) -> GatewayEvent:
        return GatewayEvent(
            "stripe",
            f"evt-{kind}-{refund_id}-{n}",
            kind,
            kind,
            datetime(2026, 11, 24, 16, tzinfo=order.created_at.tzinfo),
            order.provider_id,
            order.id,
            cents,
            "USD",
            refund_id,
        )

    external = await _receive(p, event("refund.succeeded", outside.provider_id, 2_000))
    again = await _receive(p, event("refund.succeeded", outside.provider_id, 2_000))
    other_copy = await _receive(p, event("refund.succeeded", outside.provider_id, 2_000, 2))
    assert ours.provider_refund_id is not None
    gave_up = await _receive(p, event("refund.failed", ours.provider_refund_id, 1_000))

    assert (external, again, other_copy) == ("external_refund", "duplicate", "unchanged")
    assert gave_up == "refund_failed"
    final = p.state.orders[order.id]
    assert (final.refunded_cents, final.status) == (2_000, "partially_refunded")
    assert p.state.money(order.id) == 11_900 - 2_000
    assert p.state.refunds[ours.id].status == "failed"


async def test_reconciliation_finds_what_the_gateway_refunded_on_its_own(
    p: Payments, clock: FixedClock
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    since = clock.now() - timedelta(days=1)
    clean = await p.reconciler.differences(since)

    await p.gateways["stripe"].refund(
        GatewayRefundRequest(order.provider_id or "", 900, "dashboard")
    )
    found = await p.reconciler.differences(since)

    assert clean == []
    assert [(d.kind, d.provider_id, d.ledger_cents, d.gateway_cents) for d in found] == [
        ("refund_mismatch", order.provider_id, 0, 900)
    ]


async def _receive(p: Payments, event: GatewayEvent) -> str:
    """A verified delivery of `event`, as the gateway adapter parses it."""
    p.gateways["stripe"].verified = event
    return await p.webhooks.receive("stripe", {}, b"{}")


async def test_capturing_a_card_payment_the_buyer_has_not_made_changes_nothing(
    p: Payments,
) -> None:
    made, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b1"),), method="stripe"))

    captured = await p.orders.capture(ME, made.order.id)

    assert captured.status == "pending"  # the browser's word is not the gateway's
    assert p.state.ledger == []
    assert p.ledger.published == []


async def test_a_refund_webhook_that_overtakes_our_own_refund_is_not_booked_twice(
    p: Payments,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    overtaking: list[str] = []

    async def webhook(made: GatewayRefund) -> None:
        event = GatewayEvent(
            "stripe",
            "evt-overtaking",
            "refund.succeeded",
            "charge.refunded",
            order.created_at,
            order.provider_id,
            order.id,
            made.amount_cents,
            "USD",
            made.provider_id,
        )
        overtaking.append(await _receive(p, event))

    p.gateways["stripe"].while_refunding = webhook
    made, _ = await p.refunds.refund(staff(Role.BILLING), order.id, RefundRequest(None, 900, "x"))

    assert overtaking == ["refund_in_flight"]  # ours, not one made at the dashboard
    assert made.status == "succeeded"
    assert [e.amount_cents for e in p.state.ledger if e.kind == "refund"] == [-900]
    assert p.state.orders[order.id].refunded_cents == 900
