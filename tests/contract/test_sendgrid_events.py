"""SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body, checked
with a key pair generated here and signed as SendGrid signs; and the events read as delivery
reports (what changes a message's status, and reasons that carry no address)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from clinicflow.adapters.messaging.sendgrid_events import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SendGridEvents,
    id_candidates,
    load_public_key,
    parse_events,
)
from clinicflow.notifications.ports import DeliveryReport

TIMESTAMP = "1764082800"
X_MESSAGE_ID = "cXxJ8hNbSqyHOJgCiwKbZA"
SG_MESSAGE_ID = f"{X_MESSAGE_ID}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def der_b64(key: Any) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def signed(
    key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str = TIMESTAMP
) -> dict[str, str]:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: timestamp,
    }


BODY = json.dumps([{"event": "delivered", "sg_message_id": SG_MESSAGE_ID}]).encode()


def test_a_body_signed_with_the_key_verifies(key: ec.EllipticCurvePrivateKey) -> None:
    events = SendGridEvents(der_b64(key))
    assert events.authentic(BODY, signed(key, BODY))
    # Header names are matched whatever their case (HTTP/2 and proxies lower-case them).
    lowered = {k.lower(): v for k, v in signed(key, BODY).items()}
    assert events.authentic(BODY, lowered)


def test_a_pem_verification_key_is_accepted(key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert SendGridEvents(pem.decode()).authentic(BODY, signed(key, BODY))


def test_tampering_with_body_or_timestamp_or_signature_fails(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    events = SendGridEvents(der_b64(key))
    headers = signed(key, BODY)
    assert not events.authentic(BODY.replace(b"delivered", b"bounce"), headers)
    assert not events.authentic(BODY, {**headers, TIMESTAMP_HEADER: "1764082801"})
    assert not events.authentic(BODY, {**headers, SIGNATURE_HEADER: "bm90IGEgc2lnbmF0dXJl"})
    assert not events.authentic(BODY, {**headers, SIGNATURE_HEADER: "%%% not base64 %%%"})
    assert not events.authentic(BODY, {TIMESTAMP_HEADER: TIMESTAMP})
    other = ec.generate_private_key(ec.SECP256R1())
    assert not events.authentic(BODY, signed(other, BODY))


def test_unsigned_events_are_refused_unless_explicitly_allowed(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    assert not SendGridEvents(None).authentic(BODY, {})
    assert SendGridEvents(None, allow_unsigned=True).authentic(BODY, {})
    # With a key configured, allowing unsigned events does not let an unsigned one through.
    assert not SendGridEvents(der_b64(key), allow_unsigned=True).authentic(BODY, {})


@pytest.mark.parametrize(
    "bad",
    [
        "not base64 at all!",
        base64.b64encode(b"not a key").decode(),
        der_b64(ec.generate_private_key(ec.SECP384R1())),
        der_b64(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ],
)
def test_a_key_that_is_not_p256_is_refused_at_startup(bad: str) -> None:
    with pytest.raises(ValueError, match="SendGrid webhook key"):
        load_public_key(bad)


def report(**event: Any) -> list[DeliveryReport]:
    return parse_events(json.dumps([{"sg_message_id": SG_MESSAGE_ID, **event}]).encode())


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("processed", "sent"),
        ("deferred", "sent"),
        ("delivered", "delivered"),
        ("dropped", "failed"),
        ("bounce", "failed"),
    ],
)
def test_delivery_events_become_statuses(kind: str, status: str) -> None:
    [r] = report(event=kind)
    assert (r.provider, r.status) == ("sendgrid", status)
    assert X_MESSAGE_ID in r.provider_ids


@pytest.mark.parametrize(
    "kind", ["open", "click", "spamreport", "unsubscribe", "group_unsubscribe", "mystery"]
)
def test_engagement_and_unknown_events_change_no_status(kind: str) -> None:
    assert report(event=kind) == []


def test_failure_reasons_carry_the_event_and_code_but_no_address() -> None:
    address = "pat1@example.com"
    [bounce] = report(
        event="bounce", type="bounce", status="5.1.1", reason=f"550 {address} unknown"
    )
    [blocked] = report(event="bounce", type="blocked", status="5.7.1", reason=address)
    [dropped] = report(event="dropped", reason=f"Bounced Address {address}")
    [odd] = report(event="bounce", status=f"5.0.0 {address}")
    assert [r.reason for r in (bounce, blocked, dropped, odd)] == [
        "sendgrid bounce 5.1.1",
        "sendgrid blocked 5.7.1",
        "sendgrid dropped",
        "sendgrid bounce",
    ]


def test_events_without_a_message_id_are_skipped() -> None:
    body = json.dumps([{"event": "delivered"}, {"event": "delivered", "sg_message_id": ""}])
    assert parse_events(body.encode()) == []


@pytest.mark.parametrize("body", [b"not json", b'{"event": "delivered"}', b'"x"'])
def test_a_body_that_is_not_an_event_array_is_an_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="SendGrid event body"):
        parse_events(body)


def test_the_x_message_id_is_found_among_the_dotted_prefixes() -> None:
    assert id_candidates("abc.def.ghi") == ("abc", "abc.def", "abc.def.ghi")
    # Older X-Message-Ids had dots of their own.
    assert "14c5d75ce93.dfd.64b469" in id_candidates("14c5d75ce93.dfd.64b469.filter0001.0")
