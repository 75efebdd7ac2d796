"""Checkout through the real Stripe and PayPal adapters against their fake servers: a paid
hold is confirmed once, webhooks are verified and idempotent, nothing is marked paid on
the client's word, and a Stripe outage is answered with PayPal for the same order."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.outbox import outbox
from support.app import admin_session
from support.fake_paypal import FakePayPal
from support.payments import (
    Clinic,
    PaymentsScene,
    dumped,
    ledger_rows,
    money,
    order_row,
    paypal_capture_event,
    stripe_event,
)

# On both databases: what rests on constraints and SQL (a webhook or a hold paid once, one
# live order per booking, credits). The rules themselves: tests/unit/payments/.


# fixtures, imported for pytest
async def _events(container: Container, kind: str) -> list[Any]:
    async with container.db.read() as conn:
        query = select(outbox).where(outbox.c.type == kind)
        return list((await conn.execute(query)).all())


async def _checkout(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await api.post("/v1/payments", json=body, headers=headers)


@pytest.mark.both_databases
async def test_a_paid_hold_is_confirmed_once_even_when_webhooks_repeat_or_arrive_late(
    scene: PaymentsScene,
    log_stream: io.StringIO,
) -> None:
    patient_id, me = await scene.clinic.patient(1)
    hold = await scene.clinic.hold()

    made = await scene.checkout(me, booking_ids=[hold["id"]], method="stripe")
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["status"] == "pending"
    assert order["total_cents"] == 11_900
    assert order["client_secret"].startswith(order["provider_id"])
    scene.stripe.complete(order["provider_id"])
    succeeded = scene.stripe_event("payment_intent.succeeded", order["provider_id"])
    again = scene.stripe_event("payment_intent.succeeded", order["provider_id"])
    late = scene.stripe_event("payment_intent.processing", order["provider_id"])

    first = await scene.deliver("stripe", succeeded)
    repeated = await scene.deliver("stripe", succeeded)
    other_copy = await scene.deliver("stripe", again)
    out_of_order = await scene.deliver("stripe", late)

    assert [r.json()["outcome"] for r in (first, repeated, other_copy, out_of_order)] == [
        "paid",
        "duplicate",
        "unchanged",
        "unchanged",
    ]
    row = await order_row(scene.pay, order["id"])
    assert row.status == "paid"
    charges = [r for r in await ledger_rows(scene.pay, order["id"]) if r.kind == "charge"]
    assert [(r.amount_cents, r.provider, r.provider_ref) for r in charges] == [
        (11_900, "stripe", order["provider_id"])
    ]
    assert len(await _events(scene.pay, "payment.succeeded")) == 1
    booking = (await scene.api.get(f"/v1/payments/{order['id']}", headers=me)).json()["bookings"][0]
    assert booking["state"] == "confirmed"
    visit = await scene.api.get(f"/v1/bookings/{hold['id']}", headers=me)
    assert (visit.json()["status"], visit.json()["patient_id"]) == ("confirmed", patient_id)
    assert order["client_secret"] not in dumped(row)
    assert order["client_secret"] not in log_stream.getvalue()


@pytest.mark.one_database
async def test_a_forged_or_stale_webhook_is_refused_and_changes_nothing(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    order = await scene.stripe_checkout(me, await scene.clinic.hold())
    scene.stripe.complete(order["provider_id"])
    forged = stripe_event(
        scene.stripe,
        "payment_intent.succeeded",
        order["provider_id"],
        scene.clock.now(),
        "whsec_wrong",
    )
    stale = stripe_event(
        scene.stripe,
        "payment_intent.succeeded",
        order["provider_id"],
        scene.clock.now() - timedelta(minutes=6),
    )

    answers = [await scene.deliver("stripe", forged), await scene.deliver("stripe", stale)]

    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json()["code"] == "webhook_signature_invalid"
    assert (await order_row(scene.pay, order["id"])).status == "pending"
    assert await ledger_rows(scene.pay, order["id"]) == []


@pytest.mark.one_database
async def test_the_browser_saying_it_paid_is_not_enough(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    order = await scene.stripe_checkout(me, await scene.clinic.hold())

    captured = await scene.api.post(f"/v1/payments/{order['id']}/capture", headers=me)
    synced = await scene.api.post(f"/v1/payments/{order['id']}/sync", headers=scene.desk)

    assert captured.json()["status"] == synced.json()["status"] == "pending"
    assert await ledger_rows(scene.pay, order["id"]) == []


async def test_staff_sync_recovers_a_payment_whose_webhook_was_lost(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    hold = await scene.clinic.hold()
    order = await scene.stripe_checkout(me, hold)
    scene.stripe.complete(order["provider_id"])

    synced = await scene.api.post(f"/v1/payments/{order['id']}/sync", headers=scene.desk)

    assert synced.json()["status"] == "paid"
    assert synced.json()["bookings"][0]["state"] == "confirmed"
    assert money(await ledger_rows(scene.pay, order["id"])) == 11_900


@pytest.mark.one_database
async def test_with_stripe_down_paypal_is_offered_and_the_same_order_completes_through_it(
    scene: PaymentsScene,
    paypal_server: FakePayPal,
) -> None:
    _, me = await scene.clinic.patient(1)
    hold = await scene.clinic.hold()
    scene.stripe.answers = [503]

    down = await scene.checkout(me, booking_ids=[hold["id"]], method="stripe")

    assert down.status_code == 503
    problem = down.json()
    assert (problem["code"], problem["alternatives"]) == ("payment_gateway_unavailable", ["paypal"])
    order_id = problem["payment_id"]
    switched = await scene.api.post(
        f"/v1/payments/{order_id}/method", json={"method": "paypal"}, headers=me
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["approve_url"].endswith(switched.json()["provider_id"])
    paypal_id = switched.json()["provider_id"]
    paypal_server.approve(paypal_id)
    captured = await scene.api.post(f"/v1/payments/{order_id}/capture", headers=me)
    webhook = await scene.deliver("paypal", paypal_capture_event(paypal_server, paypal_id))

    assert captured.json()["status"] == "paid"
    assert webhook.status_code == 200
    assert webhook.json()["outcome"] == "unchanged"
    charges = [r for r in await ledger_rows(scene.pay, order_id) if r.kind == "charge"]
    assert [(r.provider, r.provider_ref, r.amount_cents) for r in charges] == [
        ("paypal", paypal_id, 11_900)
    ]
    assert paypal_server.captured_count() == 1
    visit = await scene.api.get(f"/v1/bookings/{hold['id']}", headers=me)
    assert visit.json()["status"] == "confirmed"


@pytest.mark.one_database
async def test_with_stripe_circuit_open_a_checkout_that_allows_fallback_goes_to_paypal(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    scene.stripe.answers = [503, 503]
    for _ in range(2):  # two outages in a row open the circuit (threshold 2 here)
        hold = await scene.clinic.hold()
        assert (
            await scene.checkout(me, booking_ids=[hold["id"]], method="stripe")
        ).status_code == 503
    requests_before = len(scene.stripe.requests)

    refused = await scene.checkout(
        me, booking_ids=[(await scene.clinic.hold())["id"]], method="stripe"
    )
    fell_back = await scene.checkout(
        me, booking_ids=[(await scene.clinic.hold())["id"]], method="stripe", fallback=True
    )

    assert refused.status_code == 503
    assert "circuit is open" in refused.json()["detail"]
    assert fell_back.status_code == 201, fell_back.text
    assert (fell_back.json()["provider"], fell_back.json()["fallback_from"]) == ("paypal", "stripe")
    assert len(scene.stripe.requests) == requests_before  # the open circuit called nobody


async def _checked_out_then_lapsed(
    scene: PaymentsScene,
) -> tuple[str, dict[str, str], dict[str, Any], dict[str, Any]]:
    """Patient 1's hold checked out through Stripe, then lapsed before the payment came: the
    patient id, their session headers, the hold and the order."""
    patient_id, me = await scene.clinic.patient(1)
    hold = await scene.clinic.hold()
    order = await scene.stripe_checkout(me, hold)
    scene.clock.advance(timedelta(minutes=11))  # the hold lasts 10
    return patient_id, me, hold, order


@pytest.mark.both_databases
async def test_a_hold_that_lapsed_while_paying_is_booked_again_when_its_slot_is_free(
    scene: PaymentsScene,
) -> None:
    patient_id, me, hold, order = await _checked_out_then_lapsed(scene)

    await scene.stripe_paid(order["provider_id"])

    line = (await scene.api.get(f"/v1/payments/{order['id']}", headers=me)).json()["bookings"][0]
    assert line["state"] == "confirmed"
    assert line["confirmed_booking_id"] not in (None, hold["id"])
    rebooked = await scene.api.get(f"/v1/bookings/{line['confirmed_booking_id']}", headers=me)
    assert (rebooked.json()["start"], rebooked.json()["patient_id"]) == (hold["start"], patient_id)
    assert scene.stripe.refunds == {}


@pytest.mark.both_databases
async def test_a_hold_lost_to_another_patient_while_paying_is_refunded_in_full(
    scene: PaymentsScene,
) -> None:
    _, me, hold, order = await _checked_out_then_lapsed(scene)
    await scene.clinic.booking(2, start=hold["start"])  # someone else takes the lapsed slot

    outcome = await scene.stripe_paid(order["provider_id"])

    assert outcome.json()["outcome"] == "paid"
    view = (await scene.api.get(f"/v1/payments/{order['id']}", headers=me)).json()
    assert (view["status"], view["bookings"][0]["state"]) == ("refunded", "lost")
    assert [(r["amount"], r["payment_intent"]) for r in scene.stripe.refunds.values()] == [
        (11_900, order["provider_id"])
    ]
    assert money(await ledger_rows(scene.pay, order["id"])) == 0


@pytest.mark.one_database
async def test_front_desk_records_a_cash_payment_at_once_and_a_patient_cannot(
    scene: PaymentsScene,
) -> None:
    patient_id, me = await scene.clinic.patient(1)
    booking = await scene.clinic.booking(1)

    refused = await scene.checkout(
        me, booking_ids=[booking["id"]], method="in_clinic", tender="cash"
    )
    paid = await scene.checkout(
        scene.desk, booking_ids=[booking["id"]], method="in_clinic", tender="cash"
    )

    assert refused.status_code == 403
    assert paid.status_code == 201, paid.text
    assert (paid.json()["status"], paid.json()["patient_id"]) == ("paid", patient_id)
    rows = await ledger_rows(scene.pay, paid.json()["id"])
    assert [(r.kind, r.amount_cents, r.provider) for r in rows] == [("charge", 11_900, "in_clinic")]


@pytest.mark.both_databases
async def test_a_booking_is_paid_by_one_order_at_a_time(
    api: httpx.AsyncClient, clinic: Clinic
) -> None:
    _, me = await clinic.patient(1)
    hold = await clinic.hold()
    first = await _checkout(api, me, booking_ids=[hold["id"]], method="stripe")

    second = await _checkout(api, me, booking_ids=[hold["id"]], method="paypal")
    await api.post(f"/v1/payments/{first.json()['id']}/cancel", headers=me)
    third = await _checkout(api, me, booking_ids=[hold["id"]], method="paypal")

    assert second.status_code == 409
    assert second.json()["payment_id"] == first.json()["id"]
    assert third.status_code == 201


@pytest.mark.both_databases
async def test_a_package_bought_then_used_for_a_visit_costs_nothing_more(
    scene: PaymentsScene,
) -> None:
    patient_id, me = await scene.clinic.patient(1)
    bought = await scene.package_sold(patient_id, tender="card_terminal")
    hold = await scene.clinic.hold()  # an alternative medicine visit: not covered by the package
    gaps = await scene.clinic.booking(
        1,
        visit={"service": "gaps_coaching", "visit_type": "initial", "duration": 60},
    )

    covered = await scene.checkout(me, booking_ids=[gaps["id"]], method="stripe")
    not_covered = await scene.checkout(me, booking_ids=[hold["id"]], method="stripe")

    assert bought.json()["total_cents"] == 45_900
    assert (covered.json()["status"], covered.json()["total_cents"]) == ("paid", 0)
    assert covered.json()["bookings"][0]["credit_id"].startswith(bought.json()["id"])
    assert not_covered.json()["total_cents"] == 11_900
    visits = sum(r.visits for r in await ledger_rows(scene.pay) if r.provider == "credit")
    assert visits == 5 - 1


async def test_a_promotion_code_is_used_once_per_patient(
    api: httpx.AsyncClient, clinic: Clinic
) -> None:
    _, me = await clinic.patient(1)

    first = await _checkout(
        api, me, booking_ids=[(await clinic.hold())["id"]], method="stripe", promo_code="welcome15"
    )
    second = await _checkout(
        api, me, booking_ids=[(await clinic.hold())["id"]], method="stripe", promo_code="WELCOME15"
    )

    assert (first.json()["total_cents"], first.json()["promo_code"]) == (10_115, "WELCOME15")
    assert (second.status_code, second.json()["code"]) == (422, "promotion_patient_limit_reached")


@pytest.mark.one_database
async def test_quotes_are_itemized_and_an_unpriceable_order_says_why(
    api: httpx.AsyncClient,
) -> None:
    both = [
        {"service": "gaps_coaching", "visit_type": "initial"},
        {"service": "alternative_medicine", "visit_type": "initial"},
    ]
    tbd = [{"service": "weight_loss", "visit_type": "initial"}]

    priced = await api.post("/v1/quotes", json={"visits": both})
    unpriceable = await api.post("/v1/quotes", json={"visits": tbd})

    assert priced.status_code == 200
    body = priced.json()
    assert (body["subtotal_cents"], body["discount_cents"], body["total_cents"]) == (
        31_400,
        3_140,
        28_260,
    )
    assert body["discounts"][0]["kind"] == "multi_service"
    assert "10%" in body["discounts"][0]["description"]
    assert [line["total_cents"] for line in body["lines"]] == [17_550, 10_710]
    assert unpriceable.status_code == 200
    assert unpriceable.json()["priceable"] is False
    assert unpriceable.json()["total_cents"] is None
    assert "TBD" in unpriceable.json()["unpriceable"][0]["reason"]


@pytest.mark.one_database
async def test_with_the_paypal_backup_flag_off_a_stripe_outage_offers_no_other_gateway(
    scene: PaymentsScene,
) -> None:
    admin = await admin_session(scene.pay)
    off = await scene.api.put("/v1/flags/paypal_backup", json={"enabled": False}, headers=admin)
    assert off.status_code == 200, off.text
    clinic = Clinic(scene.api, scene.pay)
    _, me = await clinic.patient(1)
    hold = await clinic.hold()
    scene.stripe.answers = [503]

    down = await scene.checkout(me, booking_ids=[hold["id"]], method="stripe")

    assert down.status_code == 503
    assert down.json()["alternatives"] == []
    assert "try again in a minute" in down.json()["detail"]
