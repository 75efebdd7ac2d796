"""Receipts (superbills with codes) as PDF and HTML carry the itemized fields an HSA/FSA
claim needs; reading one is audited; codes are checked for their shape."""

from __future__ import annotations

import io

import httpx
import pytest
from pypdf import PdfReader

from clinicflow.infra.audit import search
from support.payments import (
    Clinic,
    PaidVisit,
    PaymentsScene,
)

# fixtures, imported for pytest
FIELDS = (
    "Riverbend Wellness Clinic, PLLC",  # legal name
    "1200 Riverside Drive, Suite 300",  # address
    "Austin, TX 78701",
    "Tax ID (EIN): not assigned yet",  # TBD in the shipped configuration
    "Pat1 Example",  # the patient
    "Dr. Elena Marsh",  # the practitioner
    "2026-11-30",  # date of service
    "Alternative medicine, initial",
    "$119.00",
    "Card, paid online (Stripe)",
    "CPT 99203",
    "ICD-10 E66.9",
)


@pytest.fixture
async def coded(api: httpx.AsyncClient, desk: dict[str, str], paid: PaidVisit) -> PaidVisit:
    """Patient 1's paid visit, with billing codes on its line."""
    body = {"lines": [{"booking_id": paid.booking["id"], "cpt": ["99203"], "icd10": ["e66.9"]}]}
    answer = await api.patch(f"/v1/payments/{paid.order['id']}/codes", json=body, headers=desk)
    assert answer.status_code == 200, answer.text
    return paid


async def test_the_receipt_pdf_holds_the_itemized_fields(
    api: httpx.AsyncClient, desk: dict[str, str], coded: PaidVisit
) -> None:
    order_id, me = coded.order["id"], coded.session

    by_accept = await api.get(
        f"/v1/payments/{order_id}/receipt", headers=me | {"Accept": "application/pdf"}
    )
    by_query = await api.get(f"/v1/payments/{order_id}/receipt?format=pdf", headers=desk)

    assert (
        by_accept.headers["content-type"] == by_query.headers["content-type"] == "application/pdf"
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(by_accept.content)).pages)
    missing = [field for field in FIELDS if field not in text]
    assert missing == []
    assert "HSA/FSA" in text
    assert "Yes" in text


async def test_the_receipt_html_holds_the_same_fields_and_the_read_is_audited(
    scene: PaymentsScene,
    coded: PaidVisit,
) -> None:
    order_id, me = coded.order["id"], coded.session

    page = await scene.api.get(f"/v1/payments/{order_id}/receipt", headers=me)

    assert page.headers["content-type"].startswith("text/html")
    assert [field for field in FIELDS if field not in page.text] == []
    async with scene.pay.db.read() as conn:
        rows = await search(conn, resource_type="payment")
    assert ("read_receipt", order_id) in [(r.action, r.resource_id) for r in rows]


async def test_billing_codes_of_the_wrong_shape_are_refused(
    api: httpx.AsyncClient, desk: dict[str, str], coded: PaidVisit
) -> None:
    order_id = coded.order["id"]
    view = (await api.get(f"/v1/payments/{order_id}", headers=desk)).json()
    booking_id = view["bookings"][0]["booking_id"]
    body = {"lines": [{"booking_id": booking_id, "cpt": ["12"], "icd10": ["obesity"]}]}

    refused = await api.patch(f"/v1/payments/{order_id}/codes", json=body, headers=desk)

    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_billing_codes")
    assert "12" in refused.json()["detail"]
    assert "obesity" in refused.json()["detail"]
    assert view["bookings"][0]["icd10_codes"] == ["E66.9"]


async def test_an_unpaid_order_has_no_receipt(api: httpx.AsyncClient, clinic: Clinic) -> None:
    _, me = await clinic.patient(1)
    hold = await clinic.hold()
    order = (
        await api.post(
            "/v1/payments", json={"booking_ids": [hold["id"]], "method": "stripe"}, headers=me
        )
    ).json()

    answer = await api.get(f"/v1/payments/{order['id']}/receipt", headers=me)

    assert (answer.status_code, answer.json()["code"]) == (409, "payment_state_conflict")
