"""The pure rules of payment notices: which payment events send what, by which channel, the
amounts and method in words, the facts a row keeps, and the texts rendered from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from clinicflow.catalog.domain import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.notifications.domain.payment import (
    PAYMENT_KINDS,
    PaidVisit,
    PaymentNotice,
    method_words,
    money_text,
    tells_patient,
)
from clinicflow.notifications.domain.plan import NO_CONSENT, NO_EMAIL, Contact, plan
from clinicflow.notifications.domain.render import Renderer, RenderOptions
from clinicflow.notifications.domain.subject import booking_of, subject_from_facts
from clinicflow.notifications.domain.visit import Visit

CLINIC_YAML = Path(__file__).resolve().parents[3] / "config" / "clinic.yaml"
PUBLIC = "https://clinic.example/"
# Wednesday 2026-11-25 10:00 in Chicago.
START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
PAID: dict[str, Any] = {
    "order_id": "o-1",
    "patient_id": "p-1",
    "status": "paid",
    "method": "stripe",
    "provider": "stripe",
    "total_cents": 11_900,
    "refunded_cents": 0,
    "currency": "USD",
    "booking_ids": ["b-1"],
}
REFUNDED = PAID | {
    "status": "partially_refunded",
    "refunded_cents": 5_950,
    "refund_id": "r-1",
    "amount_cents": 5_950,
    "booking_id": "b-1",
}
NOTICE = PaymentNotice.from_payload("payment.succeeded", PAID).about(
    [PaidVisit("b-1", "alternative_medicine", START)]
)
WITHDRAWN = {"email": {"opt_in": False, "withdrawn_at": "2026-11-01T00:00:00+00:00"}}
SMS_YES = {"sms": {"opt_in": True, "consent_at": "2026-11-01T00:00:00+00:00"}}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CLINIC_YAML)


@pytest.fixture
def renderer(catalog: Catalog) -> Renderer:
    return Renderer(catalog, RenderOptions(PUBLIC))


def test_payment_events_map_to_receipt_and_refund() -> None:
    assert PAYMENT_KINDS == {"payment.succeeded": "receipt", "payment.refunded": "refund"}


def test_a_receipt_is_about_the_total_and_a_refund_about_the_amount_refunded_now() -> None:
    paid = PaymentNotice.from_payload("payment.succeeded", PAID)
    refund = PaymentNotice.from_payload("payment.refunded", REFUNDED | {"refunded_cents": 9_000})

    assert (paid.amount_cents, paid.refund_id, paid.booking_ids) == (11_900, None, ("b-1",))
    assert (refund.amount_cents, refund.refunded_cents, refund.refund_id) == (5_950, 9_000, "r-1")
    assert not refund.fully_refunded
    full = PaymentNotice.from_payload("payment.refunded", REFUNDED | {"refunded_cents": 11_900})
    assert full.fully_refunded


def test_nothing_is_told_without_a_patient_or_when_no_money_moved() -> None:
    assert tells_patient(PaymentNotice.from_payload("payment.succeeded", PAID))
    assert not tells_patient(
        PaymentNotice.from_payload("payment.succeeded", PAID | {"patient_id": None})
    )
    # A visit paid with a package credit costs 0; a no-show refund gives 0 back.
    assert not tells_patient(
        PaymentNotice.from_payload("payment.succeeded", PAID | {"total_cents": 0})
    )
    assert not tells_patient(
        PaymentNotice.from_payload("payment.refunded", REFUNDED | {"amount_cents": 0})
    )


def test_receipts_go_by_email_only_and_respect_withdrawn_email_consent() -> None:
    anyone = Contact("pat@example.com", "+15125550001", SMS_YES, push_since=START)
    [email] = plan("receipt", anyone)
    assert (email.channel, email.template, email.address, email.skip_reason) == (
        "email",
        "receipt.email",
        "pat@example.com",
        None,
    )
    [refund] = plan("refund", Contact("pat@example.com", None, WITHDRAWN))
    assert (refund.template, refund.address, refund.skip_reason) == (
        "refund.email",
        None,
        NO_CONSENT,
    )
    [none] = plan("receipt", Contact(None, "+15125550001", {}))
    assert none.skip_reason == NO_EMAIL


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (11_900, "USD", "$119.00"),
        (5, "usd", "$0.05"),
        (123_456_78, "USD", "$123,456.78"),
        (2_500, "EUR", "€25.00"),
        (2_500, "CHF", "25.00 CHF"),
    ],
)
def test_amounts_are_formatted_from_cents_with_their_currency(
    cents: int, currency: str, text: str
) -> None:
    assert money_text(cents, currency) == text


def test_the_method_is_named_by_who_took_the_money() -> None:
    assert method_words("stripe", "stripe") == "Card, paid online"
    assert method_words("stripe", "paypal") == "PayPal"  # the fallback gateway took it
    assert method_words("in_clinic", "in_clinic") == "In person at the clinic"
    assert method_words("stripe", "credit") == "Package visit credit"
    assert method_words("stripe", None) == "Card, paid online"
    assert method_words("apple_pay", None) == "Apple pay"


def test_facts_hold_ids_amounts_and_times_and_read_back_as_the_same_notice() -> None:
    facts = NOTICE.facts()
    assert facts["visits"] == [
        {"booking_id": "b-1", "service": "alternative_medicine", "start": START.isoformat()}
    ]
    assert "patient_id" not in facts
    back = subject_from_facts("receipt", facts)
    assert back == replace(NOTICE, patient_id=None)
    assert booking_of(back) is None  # filed under no single booking
    visit = Visit("b-9", "alternative_medicine", "initial", "doctor1", START, START)
    assert isinstance(subject_from_facts("confirmation", visit.facts()), Visit)
    assert booking_of(visit) == "b-9"


def test_receipt_email_names_clinic_amount_method_visit_and_the_receipt_link(
    renderer: Renderer,
) -> None:
    out = renderer.render("receipt.email", NOTICE)

    assert out.subject == "Your receipt from Riverbend Wellness Clinic"
    assert "Amount paid: $119.00" in out.text
    assert "Payment method: Card, paid online" in out.text
    assert "Visit: Wednesday 25 November 2026 at 10:00 (CST), Alternative medicine" in out.text
    assert "sign in to open it" in out.text
    assert "https://clinic.example/me/receipts/o-1" in out.text
    assert out.html is not None
    assert 'href="https://clinic.example/me/receipts/o-1"' in out.html
    assert "<strong>$119.00</strong>" in out.html


def test_payment_emails_name_no_service_when_the_email_option_forbids_it(
    catalog: Catalog,
) -> None:
    quiet = Renderer(catalog, RenderOptions(PUBLIC, email_service_name=False))
    for template, notice in (
        ("receipt.email", NOTICE),
        ("refund.email", PaymentNotice.from_payload("payment.refunded", REFUNDED)),
    ):
        out = quiet.render(template, notice.about(NOTICE.visits))
        assert out.html is not None
        assert "Alternative" not in out.text + out.html
        assert "Wednesday 25 November 2026 at 10:00 (CST)" in out.text


def test_refund_email_says_what_went_back_and_how_much_of_the_payment(
    renderer: Renderer,
) -> None:
    partial = PaymentNotice.from_payload("payment.refunded", REFUNDED)
    full = PaymentNotice.from_payload("payment.refunded", REFUNDED | {"refunded_cents": 11_900})

    out = renderer.render("refund.email", partial)

    assert out.subject == "Your refund from Riverbend Wellness Clinic"
    assert "Riverbend Wellness Clinic has refunded $59.50 to you." in out.text
    assert "Amount refunded: $59.50" in out.text
    assert "Your payment: $119.00, $59.50 refunded so far" in out.text
    assert "https://clinic.example/me/receipts/o-1" in out.text
    assert "refunded in full" in renderer.render("refund.email", full).text


def test_payment_email_html_is_escaped(catalog: Catalog) -> None:
    odd = replace(catalog, clinic=replace(catalog.clinic, name="<b>Evil</b> & Co"))
    out = Renderer(odd, RenderOptions(PUBLIC)).render("receipt.email", NOTICE)
    assert out.html is not None
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in out.html
    assert "<b>Evil</b> & Co" in out.text
