"""What the providers send back, through the app over a real database (helpers:
support/provider_webhooks.py; the fake servers, the signing key and the settings: this folder's
conftest.py). Messages go out through the production adapters to the fake Twilio and SendGrid
servers on loopback; the webhooks are signed here as the vendors sign them. This module:
Twilio's status callbacks and STOP/START replies, signed with X-Twilio-Signature
(fake_twilio.sign).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container, build
from clinicflow.gateway.app import create_app
from clinicflow.infra.audit import audit_log
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem
from support.fake_twilio import AUTH_TOKEN, FakeTwilio, sign
from support.loopback_tls import loopback_tls
from support.notifications import envelope
from support.provider_webhooks import (
    FORM,
    INBOUND_URL,
    PAT,
    PUBLIC,
    STATUS_URL,
    book_and_notify,
    message,
    patient_with_sms_consent,
    post_twilio,
    reply,
    status,
)


@pytest.fixture
async def sent_sms(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> Any:
    """A booking confirmation texted through the fake Twilio: its message row."""
    await patient_with_sms_consent(client, front_desk)
    row = await message(container, await book_and_notify(client, container, "10"), "sms")
    assert (row.status, row.provider) == ("sent", "twilio")
    return row


async def test_texts_ask_twilio_to_report_delivery_to_the_public_url(
    sent_sms: Any, twilio: FakeTwilio
) -> None:
    assert twilio.messages[sent_sms.provider_id]["StatusCallback"] == STATUS_URL


async def test_a_signed_delivered_report_marks_the_text_delivered(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    resp = await post_twilio(client, STATUS_URL, status(sent_sms.provider_id, "delivered"))
    assert resp.status_code == 204, resp.text
    row = await message(container, sent_sms.booking_id, "sms")
    assert row.status == "delivered"


@pytest.mark.parametrize("signature", [None, "bm90IGEgc2lnbmF0dXJl", "other-token"])
async def test_a_badly_signed_report_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, sent_sms: Any, signature: str | None
) -> None:
    params = status(sent_sms.provider_id, "failed", ErrorCode="30008")
    headers = dict(FORM)
    if signature == "other-token":
        headers["X-Twilio-Signature"] = sign("not-the-auth-token", STATUS_URL, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    resp = await client.post(STATUS_URL, content=urlencode(params), headers=headers)
    assert_problem(resp, 403, "webhook_not_authenticated")
    assert (await message(container, sent_sms.booking_id, "sms")).status == "sent"


async def test_a_report_signed_for_other_parameters_is_refused(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    signed = status(sent_sms.provider_id, "sent")
    tampered = {**signed, "MessageStatus": "failed", "SmsStatus": "failed"}
    headers = {**FORM, "X-Twilio-Signature": sign(AUTH_TOKEN, STATUS_URL, signed)}
    resp = await client.post(STATUS_URL, content=urlencode(tampered), headers=headers)
    assert_problem(resp, 403, "webhook_not_authenticated")
    assert (await message(container, sent_sms.booking_id, "sms")).status == "sent"


@pytest.mark.both_databases
async def test_a_repeated_report_changes_nothing(
    client: httpx.AsyncClient, container: Container, clock: FixedClock, sent_sms: Any
) -> None:
    params = status(sent_sms.provider_id, "delivered")
    assert (await post_twilio(client, STATUS_URL, params)).status_code == 204
    first = await message(container, sent_sms.booking_id, "sms")
    clock.advance(timedelta(minutes=1))
    assert (await post_twilio(client, STATUS_URL, params)).status_code == 204
    again = await message(container, sent_sms.booking_id, "sms")
    assert (again.status, again.updated_at) == ("delivered", first.updated_at)


@pytest.mark.both_databases
async def test_a_late_sent_report_leaves_the_text_delivered(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    for value in ("delivered", "sent", "queued", "undelivered"):
        resp = await post_twilio(client, STATUS_URL, status(sent_sms.provider_id, value))
        assert resp.status_code == 204, resp.text
    row = await message(container, sent_sms.booking_id, "sms")
    assert (row.status, row.reason) == ("delivered", None)


async def test_undelivered_is_failed_with_twilios_code_and_not_sent_again(
    client: httpx.AsyncClient, container: Container, twilio: FakeTwilio, sent_sms: Any
) -> None:
    params = status(sent_sms.provider_id, "undelivered", ErrorCode="30003")
    assert (await post_twilio(client, STATUS_URL, params)).status_code == 204
    row = await message(container, sent_sms.booking_id, "sms")
    assert (row.status, row.reason) == ("failed", "twilio undelivered, error 30003")
    # The event delivered again (as the bus does after any failure) texts no second time.
    event = await envelope(container, "booking.created", sent_sms.booking_id)
    await container.notifications.subscriber.handle(event)
    assert len(twilio.messages) == 1


async def test_a_report_for_an_unknown_message_is_acknowledged_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    resp = await post_twilio(client, STATUS_URL, status("SM" + "0" * 32, "failed"))
    assert resp.status_code == 204  # Twilio must not retry it
    assert (await message(container, sent_sms.booking_id, "sms")).status == "sent"


@pytest.mark.both_databases
async def test_stop_withdraws_sms_consent_and_start_gives_it_back(
    client: httpx.AsyncClient,
    container: Container,
    twilio: FakeTwilio,
    front_desk: dict[str, str],
    log_stream: Any,
) -> None:
    patient_id = await patient_with_sms_consent(client, front_desk)
    await book_and_notify(client, container, "10")
    assert len(twilio.messages) == 1

    stop = await post_twilio(client, INBOUND_URL, reply(" stop "))
    assert stop.status_code == 200, stop.text
    assert stop.headers["content-type"].startswith("text/xml")
    assert stop.text.endswith("<Response/>")
    sms = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()[
        "contact_prefs"
    ]["sms"]
    assert sms["opt_in"] is False
    assert sms["withdrawn_at"].startswith("2026-11-24T15:00")

    after_stop = await message(container, await book_and_notify(client, container, "11"), "sms")
    assert (after_stop.status, after_stop.reason) == ("skipped", "no consent")
    assert len(twilio.messages) == 1

    start = await post_twilio(client, INBOUND_URL, reply("START"))
    assert start.status_code == 200, start.text
    sms = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()[
        "contact_prefs"
    ]["sms"]
    assert (sms["opt_in"], sms["withdrawn_at"]) == (True, None)
    after_start = await message(container, await book_and_notify(client, container, "13"), "sms")
    assert after_start.status == "sent"
    assert len(twilio.messages) == 2

    async with container.db.read() as conn:
        query = select(audit_log.c.action, audit_log.c.actor_type, audit_log.c.patient_id)
        audited = (await conn.execute(query.where(audit_log.c.action.like("sms_opt_%")))).all()
    assert sorted(audited) == [
        ("sms_opt_in", "system", patient_id),
        ("sms_opt_out", "system", patient_id),
    ]
    logged = log_stream.getvalue()
    assert "sms_consent_reply" in logged
    assert "5125550001" not in logged


@pytest.mark.both_databases
async def test_a_repeated_stop_changes_nothing_and_start_opts_in_no_one_who_never_agreed(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/patients", json={**PAT, "contact_prefs": {"email": True}}, headers=front_desk
    )
    patient_id = created.json()["id"]
    assert (await post_twilio(client, INBOUND_URL, reply("START"))).status_code == 200
    prefs = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    assert "sms" not in prefs["contact_prefs"]
    assert prefs["version"] == created.json()["version"]

    await post_twilio(client, INBOUND_URL, reply("STOP"))
    once = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    await post_twilio(client, INBOUND_URL, reply("STOP"))
    twice = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    assert twice["contact_prefs"] == once["contact_prefs"]
    assert twice["version"] == once["version"] == created.json()["version"] + 1


async def test_an_unsigned_stop_is_refused(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    patient_id = await patient_with_sms_consent(client, front_desk)
    resp = await client.post(INBOUND_URL, content=urlencode(reply("STOP")), headers=FORM)
    assert_problem(resp, 403, "webhook_not_authenticated")
    patient = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    assert patient["contact_prefs"]["sms"]["opt_in"] is True


async def test_twilio_webhooks_are_refused_when_twilio_is_not_configured(
    settings: Settings, clock: FixedClock
) -> None:
    bare = settings.model_copy(
        update={"twilio_account_sid": None, "twilio_auth_token": None, "twilio_sender": None}
    )
    built = build(bare, clock=clock, http=httpx.AsyncClient(trust_env=False, verify=loopback_tls()))
    transport = httpx.ASGITransport(app=create_app(container=built))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            resp = await post_twilio(client, INBOUND_URL, reply("STOP"))
    finally:
        await built.aclose()
    assert_problem(resp, 403, "webhook_not_authenticated")


# SendGrid's Event Webhook
