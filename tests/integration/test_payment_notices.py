"""Receipts and refund notices through the real app: a Stripe checkout paid by its signed
webhook (the fake Stripe server on loopback), the bus carrying payment.succeeded and
payment.refunded to notifications, and the email arriving at a real SMTP server on loopback.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

import io
import json
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import audit_log
from clinicflow.notifications.tables import messages
from clinicflow.settings import Settings
from support.fake_smtp import FakeSmtpRelay
from support.notifications import SENDER, envelope
from support.payments import (
    PaymentsScene,
    deliver,
    stripe_paid,
)

# fixtures, imported for pytest
PUBLIC = "https://clinic.example"


@pytest.fixture
def settings(settings: Settings, smtp_server: FakeSmtpRelay) -> Settings:
    """The integration settings, with email going to the SMTP server on loopback."""
    return Settings(
        **settings.model_dump()
        | {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "mail_sender": SENDER,
            "public_url": PUBLIC,
        }
    )


def mails(server: FakeSmtpRelay, subject: str) -> list[EmailMessage]:
    return [m for m in server.messages() if m["Subject"].startswith(subject)]


def text_of(mail: EmailMessage) -> str:
    body = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    return body.replace("\r\n", "\n")  # SMTP carries CRLF line ends


async def rows(container: Container, template: str) -> list[Any]:
    query = select(messages).where(messages.c.template == template)
    async with container.db.read() as conn:
        return list((await conn.execute(query)).all())


async def test_a_paid_checkout_sends_one_receipt_email_even_when_redelivered(
    scene: PaymentsScene,
    smtp_server: FakeSmtpRelay,
    log_stream: io.StringIO,
) -> None:
    patient_id, me = await scene.clinic.patient(1)
    hold = await scene.clinic.hold()
    order, webhook = await stripe_paid(scene.api, scene.stripe, scene.clock, me, [hold["id"]])

    await scene.pay.bus.run_once()
    assert len(mails(smtp_server, "Your receipt from")) == 1  # the bus delivered it
    repeated = await deliver(scene.api, "stripe", webhook)
    await scene.pay.notifications.subscriber.handle(
        await envelope(scene.pay, "payment.succeeded", order["id"])
    )
    await scene.pay.bus.run_once()

    assert repeated.json()["outcome"] == "duplicate"
    [mail] = mails(smtp_server, "Your receipt from")
    assert mail["To"] == "pat1@example.com"
    assert mail["Subject"] == "Your receipt from Riverbend Wellness Clinic"
    text = text_of(mail)
    receipt_url = f"{PUBLIC}/me/receipts/{order['id']}"
    assert "Amount paid: $119.00" in text
    assert "Payment method: Card, paid online" in text
    assert "Visit: Monday 30 November 2026" in text
    assert f"Your itemized receipt (sign in to open it):\n{receipt_url}" in text
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{receipt_url}"' in html
    # The link opens the receipt for the patient signed in; anyone else gets the page that
    # asks them to sign in, and nothing of the receipt.
    path = receipt_url.removeprefix(PUBLIC)
    mine = await scene.api.get(path, headers=me)
    assert mine.status_code == 200
    assert "$119.00" in mine.text
    theirs = await scene.api.get(path)
    assert theirs.status_code == 200
    assert "sign-in link" in theirs.text.lower()
    assert "$119.00" not in theirs.text

    [row] = await rows(scene.pay, "receipt.email")
    assert (row.patient_id, row.booking_id, row.channel, row.status, row.provider) == (
        patient_id,
        None,
        "email",
        "sent",
        "smtp",
    )
    stored = json.dumps(dict(row._mapping), default=str)
    assert "pat1@example.com" not in stored
    assert "Pat1" not in stored
    assert "pat1@example.com" not in log_stream.getvalue()
    async with scene.pay.db.read() as conn:
        audited = (
            await conn.execute(
                select(audit_log).where(
                    audit_log.c.action == "notify", audit_log.c.patient_id == patient_id
                )
            )
        ).all()
    assert {(a.actor_type, a.role) for a in audited} == {("system", "system")}

    listed = await scene.api.get(
        "/v1/notifications", params={"patient_id": patient_id}, headers=scene.desk
    )
    assert listed.status_code == 200, listed.text
    [shown] = [n for n in listed.json()["notifications"] if n["template"] == "receipt.email"]
    assert (shown["patient_id"], shown["status"], shown["booking_id"]) == (patient_id, "sent", None)
    assert "$119.00" in shown["text"]
    own = (await scene.api.get("/v1/notifications", headers=me)).json()["notifications"]
    assert "receipt.email" in [n["template"] for n in own]


async def test_a_refund_sends_one_refund_email_with_the_amount_refunded(
    scene: PaymentsScene,
    smtp_server: FakeSmtpRelay,
) -> None:
    patient_id, me = await scene.clinic.patient(1)
    booking = await scene.clinic.booking(1)
    order, _ = await stripe_paid(scene.api, scene.stripe, scene.clock, me, [booking["id"]])
    await scene.pay.bus.run_once()

    refunded = await scene.api.post(
        f"/v1/payments/{order['id']}/refunds",
        json={"booking_id": booking["id"], "amount_cents": 3_000, "reason": "waited an hour"},
        headers=scene.desk,
    )
    assert refunded.status_code == 201, refunded.text
    await scene.pay.bus.run_once()
    assert len(mails(smtp_server, "Your refund from")) == 1  # the bus delivered it
    await scene.pay.notifications.subscriber.handle(
        await envelope(scene.pay, "payment.refunded", order["id"])
    )

    assert len(mails(smtp_server, "Your receipt from")) == 1
    [mail] = mails(smtp_server, "Your refund from")
    assert mail["To"] == "pat1@example.com"
    text = text_of(mail)
    assert "Riverbend Wellness Clinic has refunded $30.00 to you." in text
    assert "Amount refunded: $30.00" in text
    assert "Your payment: $119.00, $30.00 refunded so far" in text
    assert f"{PUBLIC}/me/receipts/{order['id']}" in text
    [row] = await rows(scene.pay, "refund.email")
    assert (row.patient_id, row.status, row.facts["refund_id"]) == (
        patient_id,
        "sent",
        refunded.json()["id"],
    )


async def test_a_patient_who_withdrew_email_consent_gets_no_receipt(
    scene: PaymentsScene,
    smtp_server: FakeSmtpRelay,
) -> None:
    patient_id, me = await scene.clinic.patient(1)
    withdrawn = await scene.api.patch(
        f"/v1/patients/{patient_id}", json={"contact_prefs": {"email": False}}, headers=scene.desk
    )
    assert withdrawn.status_code == 200, withdrawn.text
    await stripe_paid(scene.api, scene.stripe, scene.clock, me, [(await scene.clinic.hold())["id"]])

    await scene.pay.bus.run_once()

    assert mails(smtp_server, "Your receipt from") == []
    [row] = await rows(scene.pay, "receipt.email")
    assert (row.patient_id, row.status, row.reason) == (patient_id, "skipped", "no consent")
    listed = await scene.api.get(
        "/v1/notifications", params={"patient_id": patient_id}, headers=scene.desk
    )
    [shown] = [n for n in listed.json()["notifications"] if n["template"] == "receipt.email"]
    assert (shown["status"], shown["reason"], shown["text"]) == ("skipped", "no consent", None)
