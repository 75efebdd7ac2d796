"""TwilioSms against a fake Messages API on loopback; X-Twilio-Signature validation on the
documented vector and on status callbacks the fake signs; the webhook parsers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import httpx
import pytest
from tenacity import wait_none

from clinicflow.adapters.messaging.resilient import CircuitBreaker, ResilientSms, RetryPolicy
from clinicflow.adapters.messaging.twilio import (
    InboundSms,
    StatusUpdate,
    TwilioSms,
    parse_inbound,
    parse_status_callback,
    validate_twilio_signature,
)
from clinicflow.notifications.ports import (
    CircuitOpen,
    MessageRejected,
    ProviderUnavailable,
    SmsSender,
)
from support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, WebhookReceiver
from support.fake_vendor import serving

FROM = "+15005550006"
TO = "+15551230001"
NO_WAIT = RetryPolicy(attempts=3, wait=wait_none())

# The request-validation example Twilio publishes (and twilio-node's tests sign): auth token
# "12345", this URL and these POST params give this signature. The base string, spelled out
# per the algorithm: the URL, then each name+value in name order, no separators.
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOC_BASE_STRING = (
    "https://mycompany.com/myapp.php?foo=1&bar=2"
    "CallSidCA1234567890ABCDE"
    "Caller+14158675309"
    "Digits1234"
    "From+14158675309"
    "To+18005551212"
)
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    yield from serving(FakeTwilio())


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    yield from serving(WebhookReceiver())


@pytest.fixture
def sms(twilio: FakeTwilio, http: httpx.AsyncClient) -> TwilioSms:
    return TwilioSms(http, ACCOUNT_SID, AUTH_TOKEN, FROM, base_url=twilio.url)


async def test_a_message_is_created_with_the_documented_form_fields(
    sms: TwilioSms, twilio: FakeTwilio
) -> None:
    sender: SmsSender = sms

    result = await sender.send_sms(TO, "See you at 9", "https://clinic.example/hooks/sms")

    assert result.provider == "twilio"
    assert result.status == "queued"
    assert result.provider_id is not None
    assert result.provider_id.startswith("SM")
    assert twilio.messages[result.provider_id] == {
        "To": TO,
        "From": FROM,
        "Body": "See you at 9",
        "StatusCallback": "https://clinic.example/hooks/sms",
    }


async def test_a_messaging_service_sends_as_messaging_service_sid(
    twilio: FakeTwilio, http: httpx.AsyncClient
) -> None:
    service = "MG" + "f" * 32
    sms = TwilioSms(http, ACCOUNT_SID, AUTH_TOKEN, service, base_url=twilio.url)

    result = await sms.send_sms(TO, "Hello")

    assert result.status == "queued"  # Twilio says "accepted" for a Messaging Service
    assert result.provider_id is not None
    sent = twilio.messages[result.provider_id]
    assert sent["MessagingServiceSid"] == service
    assert "From" not in sent


async def test_an_invalid_number_is_rejected_with_twilios_code_without_the_number(
    sms: TwilioSms, twilio: FakeTwilio
) -> None:
    twilio.invalid_numbers.add(TO)

    with pytest.raises(MessageRejected, match="is not a valid phone number") as caught:
        await sms.send_sms(TO, "Hello")

    assert caught.value.code == "21211"
    assert TO not in str(caught.value)
    assert TO.removeprefix("+") not in str(caught.value)


async def test_a_wrong_auth_token_is_rejected(twilio: FakeTwilio, http: httpx.AsyncClient) -> None:
    sms = TwilioSms(http, ACCOUNT_SID, "wrong", FROM, base_url=twilio.url)

    with pytest.raises(MessageRejected) as caught:
        await sms.send_sms(TO, "Hello")
    assert caught.value.code == "20003"


async def test_throttling_is_unavailability_with_its_retry_after(
    sms: TwilioSms, twilio: FakeTwilio
) -> None:
    twilio.failing = 429
    twilio.retry_after = "7"

    with pytest.raises(ProviderUnavailable) as caught:
        await sms.send_sms(TO, "Hello")
    assert caught.value.retry_after == 7.0


async def test_server_errors_are_retried_until_it_succeeds(
    sms: TwilioSms, twilio: FakeTwilio
) -> None:
    twilio.answers = [500, 503]

    result = await ResilientSms(sms, CircuitBreaker("twilio"), NO_WAIT).send_sms(TO, "Hello")

    assert result.provider_id in twilio.messages
    assert twilio.requests == 3


async def test_the_circuit_opens_after_repeated_outages(sms: TwilioSms, twilio: FakeTwilio) -> None:
    twilio.failing = 503
    breaker = CircuitBreaker("twilio", threshold=2, reset_after=60)
    resilient = ResilientSms(sms, breaker, RetryPolicy(attempts=1, wait=wait_none()))

    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await resilient.send_sms(TO, "Hello")
    with pytest.raises(CircuitOpen):
        await resilient.send_sms(TO, "Hello")

    assert twilio.requests == 2
    assert await breaker.state() == "open"


def test_the_documented_vector_validates() -> None:
    digest = hmac.new(DOC_TOKEN.encode(), DOC_BASE_STRING.encode(), hashlib.sha1).digest()
    assert base64.b64encode(digest).decode() == DOC_SIGNATURE
    assert validate_twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        ("54321", DOC_URL, DOC_PARAMS, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL.replace("foo=1", "foo=2"), DOC_PARAMS, DOC_SIGNATURE),
        (DOC_TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", DOC_PARAMS, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS | {"Digits": "9999"}, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS | {"Extra": ""}, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, {k: v for k, v in DOC_PARAMS.items() if k != "To"}, DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B9="),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS, ""),
        (DOC_TOKEN, DOC_URL, DOC_PARAMS, "é"),
    ],
    ids=["token", "query", "scheme", "param", "added", "removed", "sig", "empty", "non-ascii"],
)
def test_anything_tampered_fails_validation(
    token: str, url: str, params: dict[str, str], signature: str
) -> None:
    assert not validate_twilio_signature(token, url, params, signature)


def test_the_default_port_is_tried_both_ways() -> None:
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"

    assert validate_twilio_signature(DOC_TOKEN, with_port, DOC_PARAMS, DOC_SIGNATURE)
    assert not validate_twilio_signature(
        DOC_TOKEN, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", DOC_PARAMS, DOC_SIGNATURE
    )


@pytest.mark.parametrize(
    ("twilio_status", "error_code", "status"),
    [("sent", None, "sent"), ("delivered", None, "delivered"), ("read", None, "delivered"),
     ("undelivered", "30003", "undelivered"), ("failed", "30008", "failed")],
)  # fmt: skip
async def test_a_signed_status_callback_validates_and_parses(
    sms: TwilioSms,
    twilio: FakeTwilio,
    receiver: WebhookReceiver,
    twilio_status: str,
    error_code: str | None,
    status: str,
) -> None:
    callback = f"{receiver.url}/hooks/twilio/status?clinic=main"
    result = await sms.send_sms(TO, "Hello", status_callback=callback)
    assert result.provider_id is not None

    answer = await twilio.post_status_callback(result.provider_id, twilio_status, error_code)

    assert answer.status_code == 200
    [request] = receiver.received
    params = {name: values[-1] for name, values in request.form().items()}
    url = receiver.url + request.target
    signature = request.headers["x-twilio-signature"]
    assert validate_twilio_signature(AUTH_TOKEN, url, params, signature)
    assert not validate_twilio_signature("another-token", url, params, signature)
    assert not validate_twilio_signature(
        AUTH_TOKEN, url.replace("main", "other"), params, signature
    )
    update = parse_status_callback(params)
    assert update == StatusUpdate(result.provider_id, status, error_code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "params",
    [
        {"MessageStatus": "delivered"},
        {"MessageSid": "SM1"},
        {"MessageSid": "SM1", "MessageStatus": "?"},
    ],
)
def test_a_status_callback_without_sid_or_known_status_is_refused(params: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="Twilio"):
        parse_status_callback(params)


OPT_OUTS = ["STOP", " stop \n", "StopAll", "unsubscribe", "Cancel", "end", "QUIT"]
OTHERS = [("start", "opt_in"), (" UNSTOP", "opt_in"), ("stop please", "message"), ("", "message")]


@pytest.mark.parametrize(("body", "intent"), [(word, "opt_out") for word in OPT_OUTS] + OTHERS)
def test_inbound_keywords_are_recognised(body: str, intent: str) -> None:
    params = {"MessageSid": "SM1", "From": TO, "To": FROM, "Body": body}

    assert parse_inbound(params) == InboundSms("SM1", TO, body, intent)  # type: ignore[arg-type]


def test_an_inbound_message_needs_a_sender() -> None:
    with pytest.raises(ValueError, match="From"):
        parse_inbound({"Body": "STOP"})
