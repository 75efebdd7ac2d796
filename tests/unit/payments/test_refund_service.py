"""Refund rules on the in-memory unit of work: the cancellation policy by how early the visit
was cancelled, staff overrides within what was paid, never more back than was paid, a
partial refund spread over an order's lines, one refund per Idempotency-Key, the platform's
own refunds (a cancelled paid visit, a lost hold, a payment after cancel), package credits
given back or kept, and what a refund publishes and audits (nothing when refused).

The visit starts Monday 2026-11-30 09:00 in the clinic; the policy (config/clinic.yaml):
in time ≥ 24 h ahead, 50 % kept when later, 100 % on a no-show, a credit kept when late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinicflow.infra.bus import Envelope
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.domain import InvalidRefundOverride
from clinicflow.payments.errors import (
    GatewayDown,
    IdempotencyKeyReused,
    PaymentNotFound,
    RefundNotAllowed,
)
from clinicflow.payments.refunds.commands import RefundRequest
from clinicflow.shared.actor import Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden
from support.fake_payments import START, Payments, patient, staff

ME, BILLING = patient("p1"), staff(Role.BILLING)


def at_stripe(p: Payments, provider_id: str | None) -> list[int]:
    """What Stripe refunded of this payment, refund by refund."""
    return p.gateways["stripe"].refunded(provider_id)


@pytest.mark.parametrize(
    ("hours_before", "status", "back", "fee", "rule"),
    [
        (48, "cancelled", 11_900, 0, "in_time"),
        (24, "cancelled", 11_900, 0, "in_time"),  # exactly 24 h counts as in time
        (2, "cancelled", 5_950, 5_950, "late_cancellation"),
        (-1, "no_show", 0, 11_900, "no_show"),
    ],
)
async def test_the_policy_decides_by_how_early_the_visit_was_cancelled(
    p: Payments,
    clock: FixedClock,
    hours_before: int,
    status: str,
    back: int,
    fee: int,
    rule: str,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    clock.set(START - timedelta(hours=hours_before))
    p.set_status("b1", status)
    published, audited = len(p.ledger.published), len(p.ledger.audited)

    made, replayed = await p.refunds.refund(BILLING, order.id, RefundRequest("b1", None, "policy"))

    assert (made.amount_cents, made.fee_cents, made.rule, replayed) == (back, fee, rule, False)
    assert at_stripe(p, order.provider_id) == ([back] if back else [])
    assert p.state.money(order.id) == 11_900 - back
    assert sum(e.amount_cents for e in p.state.ledger if e.kind == "fee") == fee
    assert p.ledger.types()[published:] == ["payment.refunded"]
    assert p.ledger.published[-1].payload["amount_cents"] == back
    assert p.audited()[audited:] == [("refund", order.id)]
    assert p.state.orders[order.id].refunded_cents == back


async def test_a_visit_not_cancelled_is_refunded_only_by_a_staff_amount_within_what_was_paid(
    p: Payments,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    published, audited, commits = len(p.ledger.published), len(p.ledger.audited), p.ledger.commits
    url = order.id

    with pytest.raises(RefundNotAllowed):
        await p.refunds.refund(BILLING, url, RefundRequest("b1", None, "no reason to"))
    with pytest.raises(InvalidRefundOverride):
        await p.refunds.refund(BILLING, url, RefundRequest("b1", 20_000, "too much"))
    with pytest.raises(PaymentNotFound):
        await p.refunds.refund(BILLING, url, RefundRequest("not-in-it", 100, "x"))
    with pytest.raises(Forbidden):
        await p.refunds.refund(ME, url, RefundRequest("b1", 100, "mine"))
    refused = (len(p.ledger.published), len(p.ledger.audited), p.ledger.commits)
    goodwill, _ = await p.refunds.refund(BILLING, url, RefundRequest("b1", 3_000, "waited"))

    assert refused == (published, audited, commits)  # a refusal publishes and audits nothing
    assert p.state.refunds.keys() == {goodwill.id}
    assert (goodwill.rule, goodwill.fee_cents) == ("staff_override", 0)
    assert "waited" in goodwill.reason
    assert at_stripe(p, order.provider_id) == [3_000]
    assert p.state.orders[order.id].status == "partially_refunded"
    assert [(x.booking_id, x.refunded_cents) for x in p.state.lines] == [("b1", 3_000)]


async def test_never_more_back_than_was_paid(p: Payments) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"), p.visit("b2", service="gaps_coaching"))
    assert order.total_cents == 28_260

    part, _ = await p.refunds.refund(BILLING, order.id, RefundRequest(None, 5_000, "billing"))
    with pytest.raises(InvalidRefundOverride):
        await p.refunds.refund(BILLING, order.id, RefundRequest(None, 23_261, "over"))
    rest, _ = await p.refunds.refund(BILLING, order.id, RefundRequest(None, None, "the rest"))
    with pytest.raises(RefundNotAllowed):
        await p.refunds.refund(BILLING, order.id, RefundRequest(None, 1, "more"))
    with pytest.raises(RefundNotAllowed):
        await p.refunds.refund(BILLING, order.id, RefundRequest("b1", 1, "a visit"))

    assert (part.amount_cents, rest.amount_cents) == (5_000, 23_260)
    assert at_stripe(p, order.provider_id) == [5_000, 23_260]
    assert p.state.money(order.id) == 0
    final = p.state.orders[order.id]
    assert (final.status, final.refunded_cents) == ("refunded", 28_260)
    assert {line.refunded_cents for line in p.state.lines} == {10_710, 17_550}


async def test_a_partial_refund_of_an_order_is_spread_over_its_lines(p: Payments) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"), p.visit("b2", service="gaps_coaching"))

    await p.refunds.refund(BILLING, order.id, RefundRequest(None, 5_000, "billing error"))

    refunds = [e for e in p.state.ledger if e.kind == "refund"]
    by_service = {e.service: -e.amount_cents for e in refunds}
    assert sum(by_service.values()) == 5_000
    assert set(by_service) == {"alternative_medicine", "gaps_coaching"}
    assert all(cents > 0 for cents in by_service.values())
    by_line = {line.service: line.refunded_cents for line in p.state.lines}
    assert by_line == by_service  # each line knows its share, as the ledger does
    assert p.state.orders[order.id].refunded_cents == 5_000


async def test_the_same_key_refunds_once_and_another_body_with_it_is_refused(
    p: Payments,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    req = RefundRequest(None, 4_000, "goodwill")

    first, replayed_first = await p.refunds.refund(BILLING, order.id, req, key="r-1")
    again, replayed_again = await p.refunds.refund(BILLING, order.id, req, key="r-1")
    with pytest.raises(IdempotencyKeyReused):
        await p.refunds.refund(BILLING, order.id, RefundRequest(None, 2_000, "x"), key="r-1")

    assert (replayed_first, replayed_again) == (False, True)
    assert again.id == first.id
    assert at_stripe(p, order.provider_id) == [4_000]
    assert [e.amount_cents for e in p.state.ledger if e.kind == "refund"] == [-4_000]
    assert p.state.orders[order.id].refunded_cents == 4_000
    assert p.ledger.types().count("payment.refunded") == 1
    assert p.audited()[-2:] == [("refund", order.id), ("read", order.id)]


async def test_a_refund_the_gateway_could_not_make_is_made_by_the_same_key_later(
    p: Payments,
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    req = RefundRequest(None, 4_000, "goodwill")
    p.gateways["stripe"].outage = 1

    with pytest.raises(GatewayDown) as down:
        await p.refunds.refund(BILLING, order.id, req, key="r-1")
    failed = p.state.refunds[down.value.extra["refund_id"]]
    booked_while_failed = p.state.money(order.id)
    made, replayed = await p.refunds.refund(BILLING, order.id, req, key="r-1")

    assert (failed.status, failed.amount_cents) == ("failed", 4_000)
    assert booked_while_failed == 11_900
    assert (made.id, made.status, replayed) == (failed.id, "succeeded", True)
    assert at_stripe(p, order.provider_id) == [4_000]
    assert p.state.money(order.id) == 11_900 - 4_000


async def test_a_cancelled_paid_visit_is_refunded_by_the_policy_once(
    p: Payments, clock: FixedClock
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    p.set_status("b1", "cancelled")
    cancelled = _event("booking.cancelled", "b1", clock.now())

    await p.subscriber.handle(cancelled)
    await p.subscriber.handle(cancelled)  # redelivered
    await p.subscriber.handle(_event("booking.cancelled", "b1", clock.now(), "evt-2"))
    with pytest.raises(RefundNotAllowed):
        await p.refunds.refund(BILLING, order.id, RefundRequest("b1", None, "again"))

    assert [(r.amount_cents, r.rule) for r in p.state.refunds.values()] == [(11_900, "in_time")]
    assert p.state.orders[order.id].status == "refunded"
    assert at_stripe(p, order.provider_id) == [11_900]


async def test_an_event_about_a_visit_nobody_paid_for_refunds_nothing(
    p: Payments, clock: FixedClock
) -> None:
    p.visit("b1", status="cancelled")

    await p.subscriber.handle(_event("booking.cancelled", "b1", clock.now()))

    assert p.state.refunds == {}
    assert p.ledger.commits == 0


@pytest.mark.parametrize(
    ("event", "hours_before", "back", "uses"),
    [
        ("booking.cancelled", 48, {"initial": 1, "followup": 4}, "returned"),
        ("booking.cancelled", 2, {"initial": 0, "followup": 4}, "used"),  # late: kept
        ("booking.no_show", -1, {"initial": 0, "followup": 4}, "used"),
    ],
)
async def test_a_package_credit_comes_back_only_when_its_visit_is_cancelled_in_time(
    p: Payments,
    clock: FixedClock,
    event: str,
    hours_before: int,
    back: dict[str, int],
    uses: str,
) -> None:
    package = CheckoutRequest(
        package="gaps_starter", method="in_clinic", tender="cash", patient_id="p1"
    )
    bought, _ = await p.checkout.create(staff(), package)
    gaps = p.visit("b-gaps", service="gaps_coaching")
    used, _ = await p.checkout.create(ME, CheckoutRequest((gaps,), method="stripe"))
    assert (used.order.status, used.order.total_cents) == ("paid", 0)
    clock.set(START - timedelta(hours=hours_before))
    p.set_status(gaps, "no_show" if event == "booking.no_show" else "cancelled")

    await p.subscriber.handle(_event(event, gaps, clock.now()))

    assert p.state.remaining(bought.order.id) == back
    assert [u.state for u in p.state.credit_uses] == [uses]
    returned = [(k, v) for k, _, v in p.state.entries(used.order.id)]
    expected = [("credit_use", -1)] + ([("credit_return", 1)] if uses == "returned" else [])
    assert returned == expected
    assert p.state.money(used.order.id) == 0


async def test_a_hold_lost_while_paying_is_refunded_in_full_by_the_platform(
    p: Payments,
) -> None:
    hold = p.visit("hold-1", None, status="held")
    p.desk.lost[hold] = "the slot was taken"

    order = await p.paid_by_stripe(ME, hold)

    final = p.state.orders[order.id]
    assert (final.status, p.state.lines[0].state) == ("refunded", "lost")
    [refund] = p.state.refunds.values()
    assert (refund.rule, refund.amount_cents, refund.created_by) == (
        "visit_lost",
        11_900,
        "clinicflow",
    )
    assert "the slot was taken" in refund.reason
    assert at_stripe(p, order.provider_id) == [11_900]
    assert p.state.money(order.id) == 0
    assert p.ledger.types() == ["payment.succeeded", "payment.refunded"]


async def test_a_payment_that_arrives_after_its_order_was_canceled_goes_back(
    p: Payments,
) -> None:
    made, _ = await p.checkout.create(ME, CheckoutRequest((p.visit("b1"),), method="stripe"))
    provider_id = made.order.provider_id
    assert provider_id is not None
    p.gateways["stripe"].pay(provider_id)  # paid at Stripe as the order is given up
    canceled = await p.deliver("stripe", "payment.canceled", provider_id)

    paid = await p.deliver("stripe", "payment.succeeded", provider_id)

    assert (canceled, paid) == ("canceled", "paid_after_cancel")
    [refund] = p.state.refunds.values()
    assert (refund.rule, refund.amount_cents) == ("paid_after_cancel", 11_900)
    assert p.state.orders[made.order.id].status == "refunded"
    assert p.state.money(made.order.id) == 0
    assert at_stripe(p, provider_id) == [11_900]


def _event(kind: str, booking_id: str, at: datetime, event_id: str = "evt-1") -> Envelope:
    return Envelope(
        event_id=event_id,
        type=kind,
        version=1,
        occurred_at=at,
        aggregate_type="booking",
        aggregate_id=booking_id,
        payload={"booking_id": booking_id},
    )


async def test_a_visit_refunded_by_the_policy_is_not_again_but_staff_may_add(p: Payments) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"), p.visit("b2", service="gaps_coaching"))
    p.set_status("b1", "cancelled")
    by_policy = RefundRequest("b1", None, "cancelled")

    first, _ = await p.refunds.refund(BILLING, order.id, by_policy)
    with pytest.raises(RefundNotAllowed):
        await p.refunds.refund(BILLING, order.id, by_policy)
    with pytest.raises(InvalidRefundOverride):  # all of the visit's line is back already
        await p.refunds.refund(BILLING, order.id, RefundRequest("b1", 1, "more"))
    other, _ = await p.refunds.refund(BILLING, order.id, RefundRequest("b2", 500, "goodwill"))

    rest, _ = await p.refunds.refund(BILLING, order.id, RefundRequest(None, None, "the rest"))

    assert (first.amount_cents, first.rule) == (10_710, "in_time")
    assert (other.amount_cents, other.rule) == (500, "staff_override")
    assert rest.amount_cents == 28_260 - 10_710 - 500
    assert p.state.orders[order.id].status == "refunded"
    assert at_stripe(p, order.provider_id) == [10_710, 500, 17_050]
    # the rest comes off the line with money left only: no entry for nothing
    refunds = [(e.service, e.amount_cents) for e in p.state.ledger if e.kind == "refund"]
    assert refunds == [
        ("alternative_medicine", -10_710),
        ("gaps_coaching", -500),
        ("gaps_coaching", -17_050),
    ]


# -- the refund shown before a cancellation ---------------------------------------------------


@pytest.mark.parametrize(
    ("hours_before", "back", "fee", "rule"),
    [(48, 11_900, 0, "in_time"), (2, 5_950, 5_950, "late_cancellation")],
)
async def test_the_preview_is_the_refund_the_cancellation_then_makes(
    p: Payments, clock: FixedClock, hours_before: int, back: int, fee: int, rule: str
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    clock.set(START - timedelta(hours=hours_before))

    shown = await p.refunds.preview(ME, "b1")
    p.set_status("b1", "cancelled")
    await p.subscriber.handle(_event("booking.cancelled", "b1", clock.now()))

    assert shown is not None
    assert (shown.order_id, shown.paid_cents) == (order.id, 11_900)
    assert (shown.refund_cents, shown.fee_cents, shown.rule) == (back, fee, rule)
    [made] = p.state.refunds.values()
    assert (made.amount_cents, made.fee_cents, made.rule) == (back, fee, rule)
    assert made.reason == shown.reason
    assert ("preview_refund", order.id) in [(r.action, r.access.resource_id) for r in p.trail.rows]


async def test_the_preview_is_nothing_for_an_unpaid_visit_or_another_patients(
    p: Payments,
) -> None:
    p.visit("unpaid")
    await p.paid_by_stripe(ME, p.visit("b1"))

    assert await p.refunds.preview(ME, "unpaid") is None
    with pytest.raises(PaymentNotFound):
        await p.refunds.preview(patient("p2"), "b1")
    assert (await p.refunds.preview(BILLING, "b1")) is not None


async def test_a_visit_refunded_already_shows_nothing_more_to_come_back(
    p: Payments, clock: FixedClock
) -> None:
    order = await p.paid_by_stripe(ME, p.visit("b1"))
    await p.refunds.refund(BILLING, order.id, RefundRequest("b1", 2_000, "goodwill"))

    shown = await p.refunds.preview(ME, "b1")
    p.set_status("b1", "cancelled")
    await p.subscriber.handle(_event("booking.cancelled", "b1", clock.now(), "evt-9"))

    assert shown is not None
    assert (shown.refunded_cents, shown.refund_cents) == (2_000, 0)
    assert [r.amount_cents for r in p.state.refunds.values()] == [2_000]  # nothing more
