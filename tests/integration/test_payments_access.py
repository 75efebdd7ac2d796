"""Who may call each payments route: a patient reaches only their own payments, billing and
front desk the office's work, analysts revenue only, API clients nothing but quotes, and an
anonymous caller gets 401 (the signed webhooks aside: they take no credentials of ours)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.shared.clock import FixedClock
from support.api import client_headers
from support.app import admin_session, staff_session
from support.fake_stripe import FakeStripe
from support.payments import (
    Clinic,
    paid_visit,
)

# fixtures, imported for pytest
CALLERS = (
    "admin",
    "front_desk",
    "billing",
    "practitioner",
    "analyst",
    "patient",
    "other_patient",
    "client",
    "anonymous",
)


@dataclass
class Paid:
    order_id: str
    booking_id: str
    headers: dict[str, dict[str, str]]


@pytest.fixture
async def paid(
    pay: Container, clinic: Clinic, stripe_server: FakeStripe, clock: FixedClock
) -> Paid:
    visit = await paid_visit(clinic, stripe_server, clock)
    _, other = await clinic.patient(2)
    headers = {
        "admin": await admin_session(pay),
        "front_desk": await staff_session(pay, "desk", "front_desk"),
        "billing": await staff_session(pay, "bill", "billing"),
        "practitioner": await staff_session(pay, "doc1", "practitioner", "doctor1"),
        "analyst": await staff_session(pay, "ana", "analyst"),
        "patient": visit.session,
        "other_patient": other,
        "client": await client_headers(pay, ["bookings:read", "bookings:write", "patients:read"]),
        "anonymous": {},
    }
    return Paid(visit.order["id"], visit.booking["id"], headers)


def expect(ok: set[str], not_found: frozenset[str] = frozenset()) -> dict[str, int | str]:
    return {
        c: "ok" if c in ok else 401 if c == "anonymous" else 404 if c in not_found else 403
        for c in CALLERS
    }


OFFICE = {"admin", "front_desk", "billing"}
MATRIX = {
    "read": expect(OFFICE | {"patient"}, frozenset({"other_patient"})),
    "receipt": expect(OFFICE | {"patient"}, frozenset({"other_patient"})),
    "sync": expect(OFFICE),
    "codes": expect(OFFICE),
    "refund": expect(OFFICE),
    "revenue": expect({"admin", "billing", "analyst"}),
}


async def _call(
    api: httpx.AsyncClient, route: str, p: Paid, headers: dict[str, str]
) -> httpx.Response:
    base = f"/v1/payments/{p.order_id}"
    if route == "read":
        return await api.get(base, headers=headers)
    if route == "receipt":
        return await api.get(f"{base}/receipt", headers=headers)
    if route == "sync":
        return await api.post(f"{base}/sync", headers=headers)
    if route == "codes":
        body = {"lines": [{"booking_id": p.booking_id, "cpt": ["99213"]}]}
        return await api.patch(f"{base}/codes", json=body, headers=headers)
    if route == "refund":  # the visit is not cancelled: allowed callers meet a 409
        body = {"booking_id": p.booking_id, "reason": "matrix"}
        return await api.post(f"{base}/refunds", json=body, headers=headers)
    params = {"from": "2026-11-24", "to": "2026-11-30"}
    return await api.get("/v1/payments/revenue", params=params, headers=headers)


@pytest.mark.parametrize("route", sorted(MATRIX))
async def test_each_caller_gets_what_its_role_and_scope_allow(
    api: httpx.AsyncClient, paid: Paid, route: str
) -> None:
    got: dict[str, int | str] = {}
    for caller in CALLERS:
        answer = await _call(api, route, paid, paid.headers[caller])
        got[caller] = "ok" if answer.status_code in (200, 409) else answer.status_code
    assert got == MATRIX[route]


async def test_only_front_desk_records_in_clinic_payments_and_anyone_may_quote(
    api: httpx.AsyncClient, paid: Paid
) -> None:
    body = {"package": "gaps_starter", "method": "in_clinic", "tender": "cash"}
    answers = {
        caller: (
            await api.post("/v1/payments", json=body, headers=paid.headers[caller])
        ).status_code
        for caller in ("billing", "analyst", "patient", "client", "anonymous")
    }
    quote = await api.post("/v1/quotes", json={"packages": ["gaps_starter"]})

    assert answers == {
        "billing": 403,
        "analyst": 403,
        "patient": 403,
        "client": 403,
        "anonymous": 401,
    }
    assert quote.status_code == 200
    assert quote.json()["total_cents"] == 45_900


async def test_webhooks_take_no_credentials_but_a_signature(api: httpx.AsyncClient) -> None:
    json = {"Content-Type": "application/json"}
    unsigned = await api.post("/v1/webhooks/stripe", content=b'{"id": "evt_1"}', headers=json)
    bad_paypal = await api.post("/v1/webhooks/paypal", content=b'{"id": "WH-1"}', headers=json)

    assert unsigned.status_code == 400
    assert bad_paypal.status_code == 400
