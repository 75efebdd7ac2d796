"""What the messaging providers report back, on the in-memory unit of work: nothing is read
before the provider's signature is checked, a report moves a message forward only (so a
repeated or late one changes nothing), and STOP/START change SMS consent. The providers'
signatures and payloads over HTTP are tests/integration/provider_webhooks/ and the
contract tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pytest

from clinicflow.notifications.callbacks.errors import WebhookRefused
from clinicflow.notifications.ports import DeliveryReport, IncomingSms, SmsIntent
from clinicflow.shared.errors import InvalidRequest
from support.fake_notifications import CATALOG, Clinic, Reach, Wired, booking_event

PUBLIC = "https://clinic.example"
STATUS = "/v1/webhooks/twilio/status"


class Twilio:
    """Twilio's webhooks as its adapter reads them: signed when `signature == "ok"` for the
    URL it was given."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def authentic(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        self.urls.append(url)
        return signature == "ok"

    def status_report(self, params: Mapping[str, str]) -> DeliveryReport | None:
        if "MessageSid" not in params:
            raise ValueError("MessageSid is missing")
        status = params["MessageStatus"]
        if status not in ("sent", "delivered", "failed"):
            return None
        return DeliveryReport("twilio", (params["MessageSid"],), status, params.get("ErrorCode"))

    def incoming(self, params: Mapping[str, str]) -> IncomingSms:
        words: dict[str, SmsIntent] = {"STOP": "opt_out", "START": "opt_in"}
        return IncomingSms(params["From"], words.get(params["Body"].upper(), "message"))


class SendGrid:
    def __init__(self, reports: list[DeliveryReport]) -> None:
        self._reports = reports

    def authentic(self, body: bytes, headers: Mapping[str, str]) -> bool:
        return headers.get("signature") == "ok"

    def reports(self, body: bytes) -> list[DeliveryReport]:
        return self._reports


class Consent:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def withdraw_sms(self, phone_e164: str, at: datetime) -> int:
        self.calls.append(("withdraw", phone_e164))
        return 1

    async def restore_sms(self, phone_e164: str, at: datetime) -> int:
        self.calls.append(("restore", phone_e164))
        return 1


async def texted() -> tuple[Clinic, Wired, Consent]:
    """A confirmation texted to p1 (the SMS provider's id: "sms-1"); its event is
    `clinic.heard`."""
    clinic = Clinic()
    consent = Consent()
    opted_in = {"sms": {"opt_in": True}}
    clinic.db.tables.contacts["p1"] = Reach("pat1@example.com", "+15125550001", opted_in)
    wired = clinic.db.wire(
        clinic.clock,
        CATALOG,
        {"email": clinic.email, "sms": clinic.sms},
        sms_webhooks=Twilio(),
        email_events=SendGrid([DeliveryReport("smtp", ("email-1",), "delivered")]),
        consent=consent,
        public_url=PUBLIC + "/",
    )
    clinic.wired = wired
    clinic.heard = booking_event()
    await clinic.handle(clinic.heard)
    return clinic, wired, consent


def sms_status(clinic: Clinic) -> tuple[str, str | None]:
    text = clinic.db.tables.message("confirmation.sms")
    return text.status, text.reason


async def test_a_signed_report_moves_the_text_on_and_a_late_one_never_back() -> None:
    clinic, wired, _ = await texted()
    assert sms_status(clinic) == ("sent", None)
    report = {"MessageSid": "sms-1", "MessageStatus": "delivered"}
    assert await wired.webhooks.sms_status(STATUS, report, "ok") == 1
    assert sms_status(clinic) == ("delivered", None)

    assert await wired.webhooks.sms_status(STATUS, report, "ok") == 0  # repeated
    late = {"MessageSid": "sms-1", "MessageStatus": "sent"}
    assert await wired.webhooks.sms_status(STATUS, late, "ok") == 0
    failed = {"MessageSid": "sms-1", "MessageStatus": "failed", "ErrorCode": "30003"}
    assert await wired.webhooks.sms_status(STATUS, failed, "ok") == 0  # delivered is final
    assert sms_status(clinic) == ("delivered", None)


async def test_the_url_checked_is_the_public_one_the_provider_was_given() -> None:
    clinic = Clinic()
    twilio = Twilio()
    wired = clinic.db.wire(clinic.clock, CATALOG, {}, sms_webhooks=twilio, public_url=PUBLIC + "/")
    report = {"MessageSid": "s", "MessageStatus": "queued"}
    assert await wired.webhooks.sms_status(STATUS + "?x=1", report, "ok") == 0
    assert twilio.urls == [PUBLIC + STATUS + "?x=1"]


async def test_a_failure_report_keeps_the_providers_code_and_is_not_sent_again() -> None:
    clinic, wired, _ = await texted()
    failed = {"MessageSid": "sms-1", "MessageStatus": "failed", "ErrorCode": "30003"}
    assert await wired.webhooks.sms_status(STATUS, failed, "ok") == 1
    assert sms_status(clinic) == ("failed", "30003")
    await clinic.handle(clinic.heard)  # redelivered: the same number would fail the same way
    assert len(clinic.sms.sent) == 1


async def test_an_unsigned_or_unconfigured_callback_is_refused_and_changes_nothing() -> None:
    clinic, wired, consent = await texted()
    report = {"MessageSid": "sms-1", "MessageStatus": "delivered"}
    with pytest.raises(WebhookRefused):
        await wired.webhooks.sms_status(STATUS, report, "forged")
    with pytest.raises(WebhookRefused):
        await wired.webhooks.sms_inbound(STATUS, {"From": "+1", "Body": "STOP"}, None)
    with pytest.raises(WebhookRefused):
        await wired.webhooks.email_events(b"[]", {"signature": "forged"})
    assert sms_status(clinic) == ("sent", None)
    assert consent.calls == []

    bare = clinic.db.wire(clinic.clock, CATALOG, {"email": clinic.email})
    with pytest.raises(WebhookRefused, match="Twilio is not configured"):
        await bare.webhooks.sms_status(STATUS, report, "ok")
    with pytest.raises(WebhookRefused, match="SENDGRID_WEBHOOK_PUBLIC_KEY"):
        await bare.webhooks.email_events(b"[]", {"signature": "ok"})


async def test_a_malformed_report_is_an_invalid_request() -> None:
    _, wired, _ = await texted()
    with pytest.raises(InvalidRequest, match="MessageSid"):
        await wired.webhooks.sms_status(STATUS, {"MessageStatus": "delivered"}, "ok")


async def test_signed_email_events_mark_the_email_delivered() -> None:
    clinic, wired, _ = await texted()
    assert await wired.webhooks.email_events(b"[...]", {"signature": "ok"}) == 1
    assert clinic.db.tables.message("confirmation.email").status == "delivered"


async def test_stop_withdraws_sms_consent_start_restores_it_and_other_texts_are_not_kept() -> None:
    clinic, wired, consent = await texted()
    commits = clinic.db.ledger.commits
    sender = {"From": "+15125550001"}
    assert await wired.webhooks.sms_inbound(STATUS, {**sender, "Body": "stop"}, "ok") == 1
    assert await wired.webhooks.sms_inbound(STATUS, {**sender, "Body": "START"}, "ok") == 1
    assert await wired.webhooks.sms_inbound(STATUS, {**sender, "Body": "see you"}, "ok") == 0
    assert consent.calls == [("withdraw", "+15125550001"), ("restore", "+15125550001")]
    assert clinic.db.ledger.commits == commits  # no text is kept here


async def test_a_reply_with_no_consent_registry_is_dropped() -> None:
    clinic, _, _ = await texted()
    wired = clinic.db.wire(clinic.clock, CATALOG, {}, sms_webhooks=Twilio())
    reply = {"From": "+15125550001", "Body": "STOP"}
    assert await wired.webhooks.sms_inbound(STATUS, reply, "ok") == 0
