"""Refunds follow the cancellation policy (in time: all; late: a fee; no-show: the no-show
fee), staff may override with a reason, each goes back through the gateway that took the
payment, and every movement lands in the ledger, whose sums match the gateways' records."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from clinicflow.payments.tables import credits
from support.app import staff_session
from support.fake_paypal import FakePayPal
from support.fake_stripe import FakeStripe
from support.payments import (
    GAPS,
    PaidVisit,
    PaymentsScene,
    ledger_rows,
    money,
    order_row,
    paid_by_paypal,
    paid_by_stripe,
)

# On both databases: what rests on constraints and SQL (a refund once per key, credits, the
# ledger's sums per line, day and payment). The rules themselves: tests/unit/payments/.


# fixtures, imported for pytest
def refunded_at(server: FakeStripe, intent_id: str) -> list[int]:
    return [r["amount"] for r in server.refunds.values() if r["payment_intent"] == intent_id]


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("hours_before", "refund", "fee", "rule"),
    [
        (48, 11_900, 0, "in_time"),
        (24, 11_900, 0, "in_time"),  # exactly 24 h counts as in time
        (2, 5_950, 5_950, "late_cancellation"),  # 50 % kept
        (-1, 0, 11_900, "no_show"),  # 100 % kept, nothing goes back
    ],
)
async def test_each_cancellation_window_refunds_what_the_policy_says(
    scene: PaymentsScene,
    paid: PaidVisit,
    hours_before: int,
    refund: int,
    fee: int,
    rule: str,
) -> None:
    booking, order = paid.booking, paid.order
    scene.clock.set(datetime.fromisoformat(booking["start"]) - timedelta(hours=hours_before))
    desk = await staff_session(scene.pay, "later", "front_desk")  # days later: a new session
    action = "no-show" if hours_before < 0 else "cancel"
    acted = await scene.api.post(f"/v1/bookings/{booking['id']}/{action}", headers=desk)
    assert acted.status_code == 200, acted.text

    made = await scene.api.post(
        f"/v1/payments/{order['id']}/refunds",
        json={"booking_id": booking["id"], "reason": "per policy"},
        headers=desk,
    )

    assert made.status_code == 201, made.text
    assert (made.json()["amount_cents"], made.json()["fee_cents"], made.json()["rule"]) == (
        refund,
        fee,
        rule,
    )
    assert refunded_at(scene.stripe, order["provider_id"]) == ([refund] if refund else [])
    rows = await ledger_rows(scene.pay, order["id"])
    assert money(rows) == 11_900 - refund
    assert sum(r.amount_cents for r in rows if r.kind == "fee") == fee


@pytest.mark.one_database
async def test_staff_override_needs_a_reason_and_stays_within_what_was_paid(
    scene: PaymentsScene,
    paid: PaidVisit,
) -> None:
    booking, order = paid.booking, paid.order
    url = f"/v1/payments/{order['id']}/refunds"

    by_policy = await scene.api.post(
        url, json={"booking_id": booking["id"], "reason": "x"}, headers=scene.desk
    )
    too_much = await scene.api.post(
        url,
        json={"booking_id": booking["id"], "amount_cents": 20_000, "reason": "x"},
        headers=scene.desk,
    )
    no_reason = await scene.api.post(
        url,
        json={"booking_id": booking["id"], "amount_cents": 3_000, "reason": " "},
        headers=scene.desk,
    )
    goodwill = await scene.api.post(
        url,
        json={"booking_id": booking["id"], "amount_cents": 3_000, "reason": "waited an hour"},
        headers=scene.desk,
    )

    assert (by_policy.status_code, by_policy.json()["code"]) == (409, "refund_not_allowed")
    assert (too_much.status_code, too_much.json()["code"]) == (422, "invalid_refund_override")
    assert no_reason.status_code == 422
    assert goodwill.status_code == 201
    assert goodwill.json()["rule"] == "staff_override"
    assert "waited an hour" in goodwill.json()["reason"]
    assert refunded_at(scene.stripe, order["provider_id"]) == [3_000]
    assert (await order_row(scene.pay, order["id"])).status == "partially_refunded"


@pytest.mark.both_databases
async def test_a_cancelled_paid_visit_is_refunded_by_the_policy_once_without_staff(
    scene: PaymentsScene,
    paid: PaidVisit,
) -> None:
    booking, order, me = paid.booking, paid.order, paid.session
    await scene.api.post(f"/v1/bookings/{booking['id']}/cancel", json={"reason": "ill"}, headers=me)

    await scene.pay.bus.run_once()
    await scene.pay.bus.run_once()
    again = await scene.api.post(
        f"/v1/payments/{order['id']}/refunds",
        json={"booking_id": booking["id"], "reason": "again"},
        headers=scene.desk,
    )

    view = (await scene.api.get(f"/v1/payments/{order['id']}", headers=me)).json()
    assert [(r["amount_cents"], r["rule"]) for r in view["refunds"]] == [(11_900, "in_time")]
    assert view["status"] == "refunded"
    assert refunded_at(scene.stripe, order["provider_id"]) == [11_900]
    assert again.status_code == 409


@pytest.mark.both_databases
async def test_a_visit_paid_with_a_package_credit_gets_its_credit_back_when_cancelled_in_time(
    scene: PaymentsScene,
) -> None:
    patient_id, me = await scene.clinic.patient(1)
    bought = (await scene.package_sold(patient_id)).json()
    visit = await scene.clinic.booking(1, visit=GAPS)
    used = (await scene.checkout(me, booking_ids=[visit["id"]], method="stripe")).json()
    assert used["status"] == "paid"
    assert used["total_cents"] == 0

    await scene.api.post(f"/v1/bookings/{visit['id']}/cancel", headers=me)
    await scene.pay.bus.run_once()

    async with scene.pay.db.read() as conn:
        left = {
            r.visit_type: r.remaining
            for r in (
                await conn.execute(select(credits).where(credits.c.order_id == bought["id"]))
            ).all()
        }
    assert left == {"initial": 1, "followup": 4}
    kinds = [(r.kind, r.visits) for r in await ledger_rows(scene.pay, used["id"])]
    assert kinds == [("credit_use", -1), ("credit_return", 1)]


@pytest.mark.both_databases
async def test_a_partial_refund_of_an_order_is_spread_over_its_lines_in_the_ledger(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    visits = [await scene.clinic.booking(1), await scene.clinic.booking(1, visit=GAPS)]
    order = await paid_by_stripe(
        scene.api, scene.stripe, scene.clock, me, [v["id"] for v in visits]
    )

    made = await scene.api.post(
        f"/v1/payments/{order['id']}/refunds",
        json={"amount_cents": 5_000, "reason": "billing error"},
        headers=scene.desk,
    )

    assert made.status_code == 201, made.text
    refunds = [r for r in await ledger_rows(scene.pay, order["id"]) if r.kind == "refund"]
    assert sum(r.amount_cents for r in refunds) == -5_000
    assert {r.service for r in refunds} == {"alternative_medicine", "gaps_coaching"}
    assert refunded_at(scene.stripe, order["provider_id"]) == [5_000]
    assert order["total_cents"] == 28_260  # 10 % off two services
    assert (await order_row(scene.pay, order["id"])).refunded_cents == 5_000


@pytest.mark.both_databases
async def test_ledger_sums_match_revenue_and_gateways_and_reconcile_finds_a_planted_gap(
    scene: PaymentsScene,
    paypal_server: FakePayPal,
) -> None:
    _, me = await scene.clinic.patient(1)
    one = await paid_by_stripe(
        scene.api, scene.stripe, scene.clock, me, [(await scene.clinic.booking(1))["id"]]
    )
    pair = [await scene.clinic.booking(1), await scene.clinic.booking(1, visit=GAPS)]
    two = await paid_by_stripe(scene.api, scene.stripe, scene.clock, me, [v["id"] for v in pair])
    three = await paid_by_paypal(
        scene.api, paypal_server, me, [(await scene.clinic.booking(1))["id"]]
    )
    for order, amount in ((one, 11_900), (two, 2_500), (three, 4_000)):
        made = await scene.api.post(
            f"/v1/payments/{order['id']}/refunds",
            json={"amount_cents": amount, "reason": "mixed run"},
            headers=scene.desk,
        )
        assert made.status_code == 201, made.text
    rows = await ledger_rows(scene.pay)
    since = scene.clock.now() - timedelta(days=1)
    billing = await staff_session(scene.pay, "bill", "billing")

    revenue = await scene.api.get(
        "/v1/payments/revenue", params={"from": "2026-11-24", "to": "2026-11-24"}, headers=billing
    )
    clean = await scene.pay.payments.reconciler.differences(since)
    scene.stripe.charges[scene.stripe.intents[one["provider_id"]]["latest_charge"]][
        "amount_refunded"
    ] -= 900
    planted = await scene.pay.payments.reconciler.differences(since)

    stripe_net = sum(i["amount_received"] for i in scene.stripe.intents.values()) - sum(
        r["amount"] for r in scene.stripe.refunds.values()
    )
    units = [o["purchase_units"][0]["payments"] for o in paypal_server.orders.values()]
    paypal_net = sum(Decimal(c["amount"]["value"]) for u in units for c in u["captures"]) - sum(
        Decimal(r["amount"]["value"]) for u in units for r in u["refunds"]
    )
    gateway_net = stripe_net + int(paypal_net * 100)
    assert money(rows) == gateway_net == 11_900 + 28_260 + 11_900 - 11_900 - 2_500 - 4_000
    assert revenue.json()["net_cents"] == money(rows)
    assert clean == []
    assert [(d.kind, d.provider_id, d.ledger_cents, d.gateway_cents) for d in planted] == [
        ("refund_mismatch", one["provider_id"], 11_900, 11_000)
    ]
