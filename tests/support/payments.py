"""Fixtures and helpers for the payments tests: the app wired to the fake Stripe and PayPal
servers on loopback (the real adapters, the official Stripe SDK), patients, holds, and
gateway webhooks signed as the vendors sign them. No tests here."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.payments.tables import ledger, orders
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import app_over, person
from support.app import build_for_test, staff_session
from support.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal
from support.fake_paypal_webhooks import WEBHOOK_ID, capture_resource
from support.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe
from support.fake_stripe_wire import event_body, sign
from support.loopback_tls import loopback_tls

# The servers' fixtures, for the tests that still import them from here (PEP 484 re-exports;
# tests/conftest.py registers them for every test).
from support.payment_servers import paypal_server as paypal_server
from support.payment_servers import stripe_server as stripe_server

ALT = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20}
GAPS = {"service": "gaps_coaching", "visit_type": "initial", "duration": 60}


@pytest.fixture
def pay_settings(
    settings: Settings, stripe_server: FakeStripe, paypal_server: FakePayPal
) -> Settings:
    return Settings(
        **settings.model_dump()
        | {
            "stripe_secret_key": API_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_base_url": stripe_server.url,
            "paypal_client_id": CLIENT_ID,
            "paypal_client_secret": CLIENT_SECRET,
            "paypal_webhook_id": WEBHOOK_ID,
            "paypal_base_url": paypal_server.url,
            "provider_retry_attempts": 1,
            "provider_retry_wait_seconds": 0.0,
            "payment_breaker_threshold": 2,
        }
    )


@pytest.fixture
async def pay(
    pay_settings: Settings,
    clock: FixedClock,
    clinic_catalog: Catalog,
    key_ring_file: Path,
    open_database: Callable[[str], Database],
) -> AsyncIterator[Container]:
    # trust_env=False: a proxy configured on the machine must not intercept loopback traffic.
    http = httpx.AsyncClient(trust_env=False, timeout=5, verify=loopback_tls())
    built = build_for_test(
        pay_settings,
        clock=clock,
        catalog=clinic_catalog,
        key_ring=key_ring_file,
        http=http,
        database=open_database(pay_settings.database_url),
    )
    yield built
    await built.aclose()


@pytest.fixture
async def api(pay: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with app_over(pay) as http:
        yield http


@pytest.fixture
async def desk(pay: Container) -> dict[str, str]:
    return await staff_session(pay, "desk", "front_desk")


@pytest.fixture
def clinic(api: httpx.AsyncClient, pay: Container) -> Clinic:
    return Clinic(api, pay)


@dataclass(frozen=True)
class PaymentsScene:
    """What a payments test over the API stands on, as one fixture (`scene`): the client and
    the container it serves, a clinic that books for patients, the fake Stripe, the clock and
    the front desk's headers."""

    api: httpx.AsyncClient
    pay: Container
    clinic: Clinic
    stripe: FakeStripe
    clock: FixedClock
    desk: dict[str, str]

    async def checkout(self, headers: dict[str, str], **body: Any) -> httpx.Response:
        return await self.api.post("/v1/payments", json=body, headers=headers)

    async def stripe_checkout(self, headers: dict[str, str], hold: dict[str, Any]) -> Any:
        """The hold checked out through Stripe by the patient of `headers`: the order, pending."""
        made = await self.checkout(headers, booking_ids=[hold["id"]], method="stripe")
        assert made.status_code == 201, made.text
        return made.json()

    async def package_sold(
        self, patient_id: str, tender: str = "cash", package: str = "gaps_starter"
    ) -> httpx.Response:
        """The front desk selling the patient a package, paid at the clinic."""
        body = {"package": package, "method": "in_clinic", "tender": tender}
        return await self.checkout(self.desk, patient_id=patient_id, **body)

    def stripe_event(self, event_type: str, intent_id: str) -> tuple[dict[str, str], bytes]:
        """Stripe's webhook about the intent as it stands, signed at the clock's time."""
        return stripe_event(self.stripe, event_type, intent_id, self.clock.now())

    async def deliver(
        self, provider: str, delivery: tuple[dict[str, str], bytes]
    ) -> httpx.Response:
        return await deliver(self.api, provider, delivery)

    async def stripe_paid(self, intent_id: str) -> httpx.Response:
        """The buyer completing the intent on Stripe, and Stripe's webhook saying so delivered:
        the webhook's answer."""
        self.stripe.complete(intent_id)
        return await self.deliver(
            "stripe", self.stripe_event("payment_intent.succeeded", intent_id)
        )


@pytest.fixture
def scene(
    api: httpx.AsyncClient,
    pay: Container,
    clinic: Clinic,
    stripe_server: FakeStripe,
    clock: FixedClock,
    desk: dict[str, str],
) -> PaymentsScene:
    return PaymentsScene(api, pay, clinic, stripe_server, clock, desk)


@pytest.fixture
async def paid(clinic: Clinic, stripe_server: FakeStripe, clock: FixedClock) -> PaidVisit:
    """Patient 1's visit, booked and paid through Stripe."""
    return await paid_visit(clinic, stripe_server, clock)


class Clinic:
    """Slots, patients and bookings through the booking API, as a test needs them."""

    def __init__(self, api: httpx.AsyncClient, container: Container) -> None:
        self.api = api
        self.container = container
        self._starts: dict[str, list[str]] = {}

    async def start(self, visit: dict[str, Any] = ALT) -> str:
        # GAPS visits on another day, so one patient's visits of both never overlap.
        day = "2026-12-01" if visit["service"] == "gaps_coaching" else "2026-11-30"
        params = {**visit, "practitioner": _who(visit), "start": day, "end": day}
        if not self._starts.get(visit["service"]):
            found = (await self.api.get("/v1/availability", params=params)).json()["slots"]
            self._starts[visit["service"]] = [s["start"] for s in found][::5]
        return self._starts[visit["service"]].pop(0)

    async def booking(
        self, n: int = 1, visit: dict[str, Any] = ALT, start: str | None = None
    ) -> dict[str, Any]:
        body = {**visit, "start": start or await self.start(visit), "practitioner": _who(visit)}
        made = await self.api.post("/v1/bookings", json=body | {"patient": person(n)})
        assert made.status_code == 201, made.text
        return dict(made.json())

    async def hold(self, visit: dict[str, Any] = ALT, start: str | None = None) -> dict[str, Any]:
        body = {**visit, "start": start or await self.start(visit), "practitioner": _who(visit)}
        made = await self.api.post("/v1/holds", json=body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    async def patient(self, n: int = 1) -> tuple[str, dict[str, str]]:
        """A patient (made by booking a visit) and their signed-in session headers."""
        patient_id = str((await self.booking(n))["patient_id"])
        return patient_id, await self.session(patient_id)

    async def session(self, patient_id: str) -> dict[str, str]:
        opened = await self.container.identity.sessions.open_for_patient(patient_id)
        return {"Cookie": f"cf_session={opened.token}"}


def _who(visit: dict[str, Any]) -> str:
    return "gaps_coach" if visit["service"] == "gaps_coaching" else "doctor1"


def stripe_event(
    server: FakeStripe, event_type: str, intent_id: str, at: datetime, secret: str = WEBHOOK_SECRET
) -> tuple[dict[str, str], bytes]:
    body = event_body(event_type, dict(server.intents[intent_id]), server.now)
    signature = sign(secret, body, int(at.timestamp()))
    return {"Stripe-Signature": signature, "Content-Type": "application/json; charset=utf-8"}, body


def paypal_capture_event(server: FakePayPal, order_id: str) -> tuple[dict[str, str], bytes]:
    return server.webhook("PAYMENT.CAPTURE.COMPLETED", capture_resource(server.orders[order_id]))


async def deliver(
    api: httpx.AsyncClient, provider: str, delivery: tuple[dict[str, str], bytes]
) -> httpx.Response:
    headers, body = delivery
    return await api.post(f"/v1/webhooks/{provider}", content=body, headers=headers)


async def stripe_paid(
    api: httpx.AsyncClient,
    server: FakeStripe,
    clock: FixedClock,
    headers: dict[str, str],
    booking_ids: list[str],
) -> tuple[dict[str, Any], tuple[dict[str, str], bytes]]:
    """A Stripe checkout, paid: the order, and the signed webhook that said so."""
    made = await api.post(
        "/v1/payments", json={"booking_ids": booking_ids, "method": "stripe"}, headers=headers
    )
    assert made.status_code == 201, made.text
    order = made.json()
    server.complete(order["provider_id"])
    event = stripe_event(server, "payment_intent.succeeded", order["provider_id"], clock.now())
    assert (await deliver(api, "stripe", event)).json()["outcome"] == "paid"
    return dict(order), event


async def paid_by_stripe(
    api: httpx.AsyncClient,
    server: FakeStripe,
    clock: FixedClock,
    headers: dict[str, str],
    booking_ids: list[str],
) -> dict[str, Any]:
    return (await stripe_paid(api, server, clock, headers, booking_ids))[0]


@dataclass(frozen=True)
class PaidVisit:
    """A patient's visit, paid through Stripe and settled by the signed webhook."""

    patient_id: str
    session: dict[str, str]  # the patient's signed-in headers
    booking: dict[str, Any]
    order: dict[str, Any]
    webhook: tuple[dict[str, str], bytes]  # the delivery that said it was paid


async def paid_visit(
    clinic: Clinic, server: FakeStripe, clock: FixedClock, *, held: bool = False
) -> PaidVisit:
    """Patient 1 signed in, then a visit of theirs (booked, or `held` and confirmed by the
    payment) paid through Stripe."""
    patient_id, me = await clinic.patient(1)
    booking = await (clinic.hold() if held else clinic.booking(1))
    order, webhook = await stripe_paid(clinic.api, server, clock, me, [booking["id"]])
    return PaidVisit(patient_id, me, booking, order, webhook)


async def paid_by_paypal(
    api: httpx.AsyncClient, server: FakePayPal, headers: dict[str, str], booking_ids: list[str]
) -> dict[str, Any]:
    body = {"booking_ids": booking_ids, "method": "paypal"}
    order = (await api.post("/v1/payments", json=body, headers=headers)).json()
    server.approve(order["provider_id"])
    captured = await api.post(f"/v1/payments/{order['id']}/capture", headers=headers)
    assert captured.json()["status"] == "paid", captured.text
    return dict(order)


async def ledger_rows(container: Container, order_id: str | None = None) -> list[Any]:
    query = select(ledger).order_by(ledger.c.id)
    if order_id is not None:
        query = query.where(ledger.c.order_id == order_id)
    async with container.db.read() as conn:
        return list((await conn.execute(query)).all())


async def order_row(container: Container, order_id: str) -> Any:
    async with container.db.read() as conn:
        return (await conn.execute(select(orders).where(orders.c.id == order_id))).one()


def money(rows: list[Any]) -> int:
    return sum(r.amount_cents for r in rows if r.kind in ("charge", "refund", "adjustment"))


def dumped(row: Any) -> str:
    return json.dumps(dict(row._mapping), default=str)
