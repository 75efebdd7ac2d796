"""SendGridEmail against a fake Mail Send API on loopback; SmtpEmail against a real SMTP
conversation (aiosmtpd); retries, the circuit breaker and the SMTP fallback around them."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import httpx
import purgatory.domain.model
import pytest
from tenacity import wait_none

from clinicflow.adapters.messaging.resilient import (
    CircuitBreaker,
    FallbackEmail,
    ResilientEmail,
    RetryPolicy,
)
from clinicflow.adapters.messaging.sendgrid import SendGridEmail
from clinicflow.adapters.messaging.smtp_email import SmtpEmail
from clinicflow.notifications.ports import (
    Attachment,
    CircuitOpen,
    Email,
    EmailSender,
    MessageRejected,
    ProviderUnavailable,
)
from clinicflow.shared.clock import FixedClock
from support.fake_sendgrid import API_KEY, FakeSendGrid
from support.fake_smtp import FakeSmtpRelay
from support.fake_vendor import serving
from support.loopback_tls import loopback_tls

SENDER = "Clinic <no-reply@clinic.example>"
TO = "patient@example.org"
INVITE = Attachment("visit.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
HI = Email(TO, "Hi", "Text")
NO_WAIT = RetryPolicy(attempts=3, wait=wait_none())


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    yield from serving(FakeSendGrid())


@pytest.fixture
def email(sendgrid: FakeSendGrid, http: httpx.AsyncClient) -> SendGridEmail:
    return SendGridEmail(http, API_KEY, SENDER, base_url=sendgrid.url)


@pytest.fixture
def relay() -> Iterator[FakeSmtpRelay]:
    yield from serving(FakeSmtpRelay())


def _smtp(relay: FakeSmtpRelay, clock: FixedClock) -> SmtpEmail:
    return SmtpEmail("127.0.0.1", relay.port, SENDER, timeout=5, clock=clock)


async def test_sendgrid_posts_the_documented_mail_send_body(
    email: SendGridEmail, sendgrid: FakeSendGrid
) -> None:
    result = await email.send_email(Email(TO, "Your visit", "Plain", "<p>Rich</p>", [INVITE]))

    [sent] = sendgrid.messages
    assert result.provider == "sendgrid"
    assert result.provider_id == sent["id"]
    assert result.status == "accepted"
    assert sent["personalizations"] == [{"to": [{"email": TO}]}]
    assert sent["from"] == {"email": "no-reply@clinic.example", "name": "Clinic"}
    assert sent["subject"] == "Your visit"
    assert sent["content"] == [
        {"type": "text/plain", "value": "Plain"},
        {"type": "text/html", "value": "<p>Rich</p>"},
    ]
    content = base64.b64encode(INVITE.content).decode()
    assert sent["attachments"] == [
        {
            "content": content,
            "filename": "visit.ics",
            "type": "text/calendar",
            "disposition": "attachment",
        }
    ]


async def test_a_refused_address_is_rejected_without_echoing_it_nor_falling_back(
    email: SendGridEmail, sendgrid: FakeSendGrid, relay: FakeSmtpRelay, clock: FixedClock
) -> None:
    sendgrid.refused.add(TO)

    with pytest.raises(MessageRejected) as caught:
        await FallbackEmail(email, _smtp(relay, clock)).send_email(HI)

    assert caught.value.code == "400"
    assert "suppression list" in str(caught.value)
    assert TO not in str(caught.value)
    assert relay.envelopes == []


async def test_a_wrong_api_key_is_rejected(sendgrid: FakeSendGrid, http: httpx.AsyncClient) -> None:
    email = SendGridEmail(http, "SG.wrong", SENDER, base_url=sendgrid.url)

    with pytest.raises(MessageRejected, match="authorization grant") as caught:
        await email.send_email(HI)
    assert caught.value.code == "401"


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_unavailability(
    email: SendGridEmail, sendgrid: FakeSendGrid, status: int
) -> None:
    sendgrid.failing = status

    with pytest.raises(ProviderUnavailable, match=str(status)):
        await email.send_email(HI)


async def test_timeouts_and_unreachable_hosts_are_unavailability() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(time_out)) as slow:
        with pytest.raises(ProviderUnavailable, match="timed out"):
            await SendGridEmail(slow, API_KEY, SENDER).send_email(HI)
    async with httpx.AsyncClient(trust_env=False, verify=loopback_tls()) as client:
        closed = SendGridEmail(client, API_KEY, SENDER, base_url="http://127.0.0.1:9")
        with pytest.raises(ProviderUnavailable, match="unreachable"):
            await closed.send_email(HI)


async def test_unavailability_is_retried_until_it_succeeds(
    email: SendGridEmail, sendgrid: FakeSendGrid
) -> None:
    sendgrid.answers = [503, 429]
    resilient = ResilientEmail(email, CircuitBreaker("sendgrid"), NO_WAIT)

    result = await resilient.send_email(HI)

    assert result.provider == "sendgrid"
    assert sendgrid.requests == 3
    assert len(sendgrid.messages) == 1


async def test_a_rejection_is_neither_retried_nor_counted_against_the_circuit(
    email: SendGridEmail, sendgrid: FakeSendGrid
) -> None:
    sendgrid.refused.add(TO)
    breaker = CircuitBreaker("sendgrid", threshold=1)
    resilient = ResilientEmail(email, breaker, NO_WAIT)

    for _ in range(2):
        with pytest.raises(MessageRejected):
            await resilient.send_email(HI)

    assert sendgrid.requests == 2
    assert await breaker.state() == "closed"


async def test_the_circuit_opens_after_repeated_outages_and_stops_calling(
    email: SendGridEmail, sendgrid: FakeSendGrid
) -> None:
    sendgrid.failing = 503
    breaker = CircuitBreaker("sendgrid", threshold=3, reset_after=60)
    resilient = ResilientEmail(email, breaker, NO_WAIT)

    with pytest.raises(ProviderUnavailable) as first:
        await resilient.send_email(HI)
    assert not isinstance(first.value, CircuitOpen)
    with pytest.raises(CircuitOpen):
        await resilient.send_email(HI)

    assert sendgrid.requests == 3
    assert await breaker.state() == "open"


async def test_after_the_pause_one_success_closes_the_circuit(
    email: SendGridEmail, sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    # purgatory reads time.time() itself; its module's view of time is the only clock to move.
    now = [1_000_000.0]
    monkeypatch.setattr(purgatory.domain.model, "time", SimpleNamespace(time=lambda: now[0]))
    sendgrid.failing = 503
    breaker = CircuitBreaker("sendgrid", threshold=1, reset_after=30)
    resilient = ResilientEmail(email, breaker, RetryPolicy(attempts=1, wait=wait_none()))
    with pytest.raises(ProviderUnavailable):
        await resilient.send_email(HI)
    assert await breaker.state() == "open"

    now[0] += 31
    sendgrid.failing = None
    await resilient.send_email(HI)

    assert await breaker.state() == "closed"


@pytest.fixture
def falling_back(
    email: SendGridEmail, sendgrid: FakeSendGrid, relay: FakeSmtpRelay, clock: FixedClock
) -> Callable[[CircuitBreaker], EmailSender]:
    """SendGrid answering 503 to everything, and a sender over it (behind the breaker given,
    retries not waited for) that falls back to the SMTP relay."""
    sendgrid.failing = 503
    return lambda breaker: FallbackEmail(
        ResilientEmail(email, breaker, NO_WAIT), _smtp(relay, clock)
    )


async def test_fallback_sends_through_smtp_when_sendgrid_answers_503(
    falling_back: Callable[[CircuitBreaker], EmailSender],
    sendgrid: FakeSendGrid,
    relay: FakeSmtpRelay,
) -> None:
    sender = falling_back(CircuitBreaker("sendgrid"))

    result = await sender.send_email(Email(TO, "Your visit", "Plain", "<p>Rich</p>", [INVITE]))

    assert result.provider == "smtp"
    assert sendgrid.requests == 3
    [envelope] = relay.envelopes
    assert envelope.rcpt_tos == [TO]
    [message] = relay.messages()
    assert message["Message-ID"] == result.provider_id
    assert message["Subject"] == "Your visit"
    html = message.get_body(("html",))
    assert html is not None
    assert "<p>Rich</p>" in html.get_content()
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "visit.ics"
    assert attached.get_content_type() == "text/calendar"
    assert attached.get_payload(decode=True) == INVITE.content


async def test_fallback_skips_sendgrid_while_its_circuit_is_open(
    falling_back: Callable[[CircuitBreaker], EmailSender],
    sendgrid: FakeSendGrid,
    relay: FakeSmtpRelay,
) -> None:
    sender = falling_back(CircuitBreaker("sendgrid", threshold=1))

    await sender.send_email(Email(TO, "One", "Text"))
    await sender.send_email(Email(TO, "Two", "Text"))

    assert sendgrid.requests == 1
    assert len(relay.envelopes) == 2


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 No such user", MessageRejected), ("451 4.7.1 Try later", ProviderUnavailable)],
)
async def test_smtp_refusals_map_to_rejection_or_unavailability(
    relay: FakeSmtpRelay, clock: FixedClock, reply: str, error: type[Exception]
) -> None:
    relay.rcpt_reply = reply

    with pytest.raises(error) as caught:
        await _smtp(relay, clock).send_email(HI)
    assert TO not in str(caught.value)


async def test_an_unreachable_smtp_relay_is_unavailability(clock: FixedClock) -> None:
    relay = SmtpEmail("127.0.0.1", 9, SENDER, timeout=5, clock=clock)

    with pytest.raises(ProviderUnavailable, match="unreachable"):
        await relay.send_email(HI)


async def test_reprs_hide_the_credentials(http: httpx.AsyncClient) -> None:
    assert API_KEY not in repr(SendGridEmail(http, API_KEY, SENDER))
    assert "hunter2" not in repr(SmtpEmail("smtp.example", 587, SENDER, "user", "hunter2"))
