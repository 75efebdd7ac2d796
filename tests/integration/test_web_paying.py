"""The booking site's pay step over HTTP: what the details step offers (card, PayPal, the
clinic) follows the settings and the catalog; PayPal's redirect and return capture the
order; a forged, foreign or clinic-only pass opens nothing; the pass gives the browser no
reach into the payments API; the checkout is audited under the pass's narrow payer."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app
from clinicflow.infra.audit import audit_log
from clinicflow.settings import Settings
from clinicflow.web.security import CSRF_FIELD
from support.app import CLINIC_YAML
from support.clinic_config import shipped
from support.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal
from support.fake_paypal_webhooks import WEBHOOK_ID
from support.fake_paypal_wire import CHECKOUT
from support.fake_stripe import FakeStripe
from support.pages import TOKEN
from support.payment_servers import paypal_server as paypal_server
from support.payment_servers import stripe_server as stripe_server

WEEK = "/book?service=alternative_medicine&visit_type=initial&duration=20"
BASE = "http://clinic.test"


def _yaml(tmp_path: Path, pay_at_clinic: bool) -> Path:
    if pay_at_clinic:
        return CLINIC_YAML
    path = tmp_path / "clinic.yaml"
    path.write_text(_paid_online_only())
    return path


@functools.cache
def _paid_online_only() -> str:
    """config/clinic.yaml without paying at the clinic, made once per process (the YAML read
    and written again: ~25 ms of CPU a test)."""
    doc = shipped()
    doc["payments"]["pay_at_clinic"] = False
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture
def settings(
    settings: Settings,
    tmp_path: Path,
    stripe_server: FakeStripe,
    paypal_server: FakePayPal,
    request: pytest.FixtureRequest,
) -> Settings:
    """Card and PayPal set up (`online`), and paying at the clinic allowed or not."""
    online, at_clinic = getattr(request, "param", (True, True))
    paypal = {
        "paypal_client_id": CLIENT_ID,
        "paypal_client_secret": CLIENT_SECRET,
        "paypal_webhook_id": WEBHOOK_ID,
        "paypal_base_url": paypal_server.url,
        "paypal_return_url": f"{BASE}/book/paypal/return",
        "paypal_cancel_url": f"{BASE}/book/paypal/cancel",
    }
    gateways = stripe_server.app_settings() | paypal if online else {}
    clinic = {"config_path": _yaml(tmp_path, at_clinic)}
    return Settings(**settings.model_dump() | clinic | gateways)


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # support/fake_vendor.py's client for the fakes on loopback


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


async def _details(client: httpx.AsyncClient) -> str:
    """A held slot's details page URL."""
    week = await client.get(WEEK)
    start = re.search(r'name="start" value="([^"]+)"', week.text)
    token = TOKEN.search(week.text)
    assert start is not None
    assert token is not None
    held = await client.post(
        "/book/hold",
        data={CSRF_FIELD: token.group(1), "service": "alternative_medicine",
              "visit_type": "initial", "duration": "20", "start": start.group(1)},
    )  # fmt: skip
    assert held.status_code == 303, held.text
    return str(held.headers["location"])


async def _book(client: httpx.AsyncClient, payment: str) -> httpx.Response:
    url = await _details(client)
    page = await client.get(url)
    token = TOKEN.search(page.text)
    assert token is not None
    return await client.post(
        url,
        data={CSRF_FIELD: token.group(1), "first_name": "Ana", "last_name": "Lee",
              "email": "ana.lee@example.com", "payment": payment},
    )  # fmt: skip


def _choices(page: httpx.Response) -> list[str]:
    return re.findall(r'name="payment" value="([a-z]+)"', page.text)


@pytest.mark.parametrize(
    ("settings", "offered"),
    [
        ((True, True), ["card", "paypal", "clinic"]),
        ((True, False), ["card", "paypal"]),
        ((False, True), ["clinic"]),
        ((False, False), ["clinic"]),  # nothing online set up: the clinic takes payment
    ],
    indirect=["settings"],
)
async def test_the_ways_to_pay_follow_the_settings_and_the_catalog(
    client: httpx.AsyncClient, offered: list[str]
) -> None:
    page = await client.get(await _details(client))
    assert _choices(page) == offered


@pytest.mark.parametrize("settings", [(True, False)], indirect=True)
async def test_paying_at_the_clinic_is_refused_where_the_clinic_does_not_allow_it(
    client: httpx.AsyncClient,
) -> None:
    refused = await _book(client, "clinic")
    assert refused.status_code == 422
    assert 'id="pay-error"' in refused.text
    assert "Choose one of the ways to pay shown." in refused.text


async def test_paypal_redirects_to_approve_and_the_return_captures(
    client: httpx.AsyncClient, container: Container, paypal_server: FakePayPal
) -> None:
    booked = await _book(client, "paypal")
    assert booked.status_code == 303
    pay = await client.get(booked.headers["location"])
    assert pay.status_code == 303
    [order_id] = list(paypal_server.orders)
    assert pay.headers["location"] == CHECKOUT + order_id  # the buyer approves at PayPal
    paypal_server.approve(order_id)
    back = await client.get("/book/paypal/return", params={"token": order_id, "PayerID": "X"})
    assert back.status_code == 303, back.text
    done = await client.get(back.headers["location"])
    assert "Paid:" in done.text
    assert "with PayPal" in done.text
    assert paypal_server.captured_count() == 1


async def test_a_card_payment_is_pending_until_the_webhook_and_audited_as_the_pass(
    client: httpx.AsyncClient, container: Container, stripe_server: FakeStripe
) -> None:
    booked = await _book(client, "card")
    pay = await client.get(booked.headers["location"])
    assert pay.status_code == 200
    done_url = re.search(r'data-done="([^"]+)"', pay.text)
    assert done_url is not None
    done = await client.get(done_url.group(1))
    assert "Payment pending:" in done.text
    [intent] = stripe_server.intents.values()
    order_id = intent["metadata"]["order_id"]
    # The pass opens the pay step only: the payments API still sees an anonymous caller.
    assert (await client.get(f"/v1/payments/{order_id}")).status_code == 401
    async with container.db.read() as conn:
        rows = await conn.execute(
            select(audit_log.c.actor_type, audit_log.c.actor_id, audit_log.c.action).where(
                audit_log.c.resource_id == order_id
            )
        )
        actors = {(r.actor_type, r.actor_id) for r in rows}
    booking = re.search(r"web-pass:([0-9a-f-]+)", str(actors))
    assert booking is not None, actors
    assert actors <= {("patient", f"web-pass:{booking.group(1)}")}


@pytest.mark.parametrize("tamper", ["forged", "clinic_only", "other_kind"])
async def test_a_pass_that_is_not_a_pay_pass_opens_nothing(
    client: httpx.AsyncClient, stripe_server: FakeStripe, tamper: str
) -> None:
    if tamper == "forged":
        booked = await _book(client, "card")
        token = booked.headers["location"].rsplit("/", 1)[1]
        body, _, mac = token.partition(".")
        url = f"/book/pay/{body[:-2]}AA.{mac}"
    elif tamper == "clinic_only":
        booked = await _book(client, "clinic")
        url = booked.headers["location"].replace("/book/done/", "/book/pay/")
    else:  # a hold's pass is not a booking's
        url = (await _details(client)).replace("/book/hold/", "/book/pay/")
    answer = await client.get(url)
    assert answer.status_code == 404
    assert "This payment link has expired" in answer.text
    assert stripe_server.intents == {}  # no payment was started
