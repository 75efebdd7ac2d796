"""Idempotency-Key on checkout and refunds: a repeated request answers the first result and
reaches the gateway once; a reused key with another body is refused; ten parallel refunds
with one key, each on its own connection, refund once at Stripe and once in the ledger."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.payments.tables import orders, refunds
from support.app import serving
from support.fake_stripe import FakeStripe
from support.loopback_tls import loopback_tls
from support.payments import (
    PaidVisit,
    PaymentsScene,
    ledger_rows,
    order_row,
    paid_visit,
)

# fixtures, imported for pytest
PARALLEL = 10


def _posts(server: FakeStripe, path: str) -> int:
    return sum(1 for r in server.requests if r.method == "POST" and r.path == path)


async def _count(container: Container, table: Any) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).select_from(table)
        return int((await conn.execute(query)).scalar_one())


async def test_the_same_key_twice_makes_one_payment_and_one_payment_intent(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    body = {"booking_ids": [(await scene.clinic.hold())["id"]], "method": "stripe"}
    keyed = me | {"Idempotency-Key": "checkout-7f3a"}
    orders_before = await _count(scene.pay, orders)

    first = await scene.api.post("/v1/payments", json=body, headers=keyed)
    again = await scene.api.post("/v1/payments", json=body, headers=keyed)

    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["client_secret"] == first.json()["client_secret"]
    assert again.json()["status"] == first.json()["status"] == "pending"
    assert await _count(scene.pay, orders) == orders_before + 1
    # One PaymentIntent was created; the replay only read it back for its client secret,
    # which is never stored here.
    assert _posts(scene.stripe, "/v1/payment_intents") == 1
    assert len(scene.stripe.intents) == 1


async def test_a_key_belongs_to_its_caller(
    scene: PaymentsScene,
) -> None:
    _, one = await scene.clinic.patient(1)
    _, two = await scene.clinic.patient(2)
    key = {"Idempotency-Key": "same-key-for-both"}

    mine = await scene.api.post(
        "/v1/payments",
        json={"booking_ids": [(await scene.clinic.hold())["id"]], "method": "stripe"},
        headers=one | key,
    )
    theirs = await scene.api.post(
        "/v1/payments",
        json={"booking_ids": [(await scene.clinic.hold())["id"]], "method": "stripe"},
        headers=two | key,
    )

    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert theirs.json()["id"] != mine.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert len(scene.stripe.intents) == 2


async def test_the_same_key_with_another_body_is_refused_with_a_problem(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    keyed = me | {"Idempotency-Key": "k-1"}
    first = await scene.api.post(
        "/v1/payments",
        json={"booking_ids": [(await scene.clinic.hold())["id"]], "method": "stripe"},
        headers=keyed,
    )
    assert first.status_code == 201, first.text

    other = await scene.api.post(
        "/v1/payments",
        json={"booking_ids": [(await scene.clinic.hold())["id"]], "method": "stripe"},
        headers=keyed,
    )

    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused"
    assert "new key" in other.json()["detail"]
    assert len(scene.stripe.intents) == 1

    order = (await paid_visit(scene.clinic, scene.stripe, scene.clock)).order
    refund_key = scene.desk | {"Idempotency-Key": "r-1"}
    url = f"/v1/payments/{order['id']}/refunds"
    made = await scene.api.post(
        url, json={"amount_cents": 1_000, "reason": "x"}, headers=refund_key
    )
    more = await scene.api.post(
        url, json={"amount_cents": 2_000, "reason": "x"}, headers=refund_key
    )

    assert made.status_code == 201, made.text
    assert (more.status_code, more.json()["code"]) == (422, "idempotency_key_reused")
    assert len(scene.stripe.refunds) == 1


async def test_a_checkout_whose_reply_was_lost_is_retried_into_the_same_payment_intent(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    body = {"booking_ids": [(await scene.clinic.hold())["id"]], "method": "stripe"}
    keyed = me | {"Idempotency-Key": "lost-reply"}
    scene.stripe.lose_replies = 1  # Stripe makes the intent, the answer never arrives

    down = await scene.api.post("/v1/payments", json=body, headers=keyed)
    again = await scene.api.post("/v1/payments", json=body, headers=keyed)

    assert down.status_code == 503, down.text
    assert again.status_code == 201, again.text
    assert again.json()["id"] == down.json()["payment_id"]
    assert again.json()["provider_id"] in scene.stripe.intents
    # Both calls carried the order's own key, so Stripe answered the second with the first.
    assert _posts(scene.stripe, "/v1/payment_intents") == 2
    assert len(scene.stripe.intents) == 1


async def _parallel(
    pay: Container, url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[list[httpx.Response], httpx.Response]:
    """PARALLEL copies of one request, each on a fresh connection of its own (as separate
    callers would send them) to a real server; then one more once they are all answered."""
    async with serving(pay) as base:

        async def one() -> httpx.Response:
            async with httpx.AsyncClient(
                verify=loopback_tls(), base_url=base, timeout=60, trust_env=False
            ) as http:
                return await http.post(url, json=body, headers=headers)

        answers = await asyncio.gather(*(one() for _ in range(PARALLEL)))
        return list(answers), await one()


def _one_made(answers: list[httpx.Response], later: httpx.Response) -> str:
    """The id every answer that made something names; the others were told to wait."""
    statuses = {a.status_code for a in answers}
    assert statuses <= {201, 409}, [a.text for a in answers]
    assert 201 in statuses
    made = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(made) == 1
    busy = {a.json()["code"] for a in answers if a.status_code == 409}
    assert busy <= {"idempotency_key_in_use"}
    assert (later.status_code, later.json()["id"]) == (201, *made)
    assert later.headers["Idempotent-Replayed"] == "true"
    return made.pop()


@pytest.mark.both_databases
async def test_ten_parallel_checkouts_with_one_key_make_one_order_and_one_intent(
    scene: PaymentsScene,
) -> None:
    _, me = await scene.clinic.patient(1)
    body = {"booking_ids": [(await scene.clinic.hold())["id"]], "method": "stripe"}
    orders_before = await _count(scene.pay, orders)

    answers, later = await _parallel(
        scene.pay, "/v1/payments", body, me | {"Idempotency-Key": "checkout-once"}
    )

    order_id = _one_made(answers, later)
    assert await _count(scene.pay, orders) == orders_before + 1
    assert (await order_row(scene.pay, order_id)).provider_id in scene.stripe.intents
    assert _posts(scene.stripe, "/v1/payment_intents") == 1
    assert len(scene.stripe.intents) == 1


@pytest.mark.both_databases
async def test_ten_parallel_refunds_with_one_key_refund_once(
    scene: PaymentsScene,
    paid: PaidVisit,
) -> None:
    order = paid.order
    url = f"/v1/payments/{order['id']}/refunds"
    body = {"amount_cents": 4_000, "reason": "goodwill"}
    headers = scene.desk | {"Idempotency-Key": "refund-once"}

    answers, later = await _parallel(scene.pay, url, body, headers)

    _one_made(answers, later)
    assert _posts(scene.stripe, "/v1/refunds") == 1
    assert [r["amount"] for r in scene.stripe.refunds.values()] == [4_000]
    ledger = [
        r.amount_cents for r in await ledger_rows(scene.pay, order["id"]) if r.kind == "refund"
    ]
    assert ledger == [-4_000]
    assert (await order_row(scene.pay, order["id"])).refunded_cents == 4_000
    assert await _count(scene.pay, refunds) == 1
