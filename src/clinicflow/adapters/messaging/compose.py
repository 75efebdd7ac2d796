"""Which messaging providers run, from Settings: bootstrap calls `compose_providers`.

Every provider call goes through retries and its own circuit breaker. Email goes by
SendGrid when its API key is set, falling back to SMTP (when a host is set too) while
SendGrid is down or its circuit open; by SMTP alone when only a host is set; and is written
as .eml files to `<data_dir>/mailbox/` when neither is. Every email the clinic sends (booking
messages, receipts, sign-in links, waitlist mails) goes through this one sender. SMS goes by
Twilio when it is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from tenacity import wait_exponential, wait_none, wait_random
from tenacity.wait import WaitBaseT

from clinicflow.adapters.messaging._resilience import CircuitBreaker, RetryPolicy
from clinicflow.adapters.messaging.mailbox import MailboxEmail
from clinicflow.adapters.messaging.resilient import FallbackEmail, ResilientEmail, ResilientSms
from clinicflow.adapters.messaging.sendgrid import SendGridEmail
from clinicflow.adapters.messaging.sendgrid_events import SendGridEvents
from clinicflow.adapters.messaging.smtp_email import SmtpEmail
from clinicflow.adapters.messaging.twilio import TwilioSms
from clinicflow.adapters.messaging.twilio_webhooks import TwilioWebhooks
from clinicflow.notifications.ports import EmailEvents, EmailSender, SmsSender, SmsWebhooks
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class Providers:
    email: EmailSender  # SendGrid, SMTP, SendGrid → SMTP, or the local mailbox
    sms: SmsSender | None  # None: SMS kept locally
    sms_webhooks: SmsWebhooks | None  # None: Twilio's webhooks are refused
    email_events: EmailEvents | None  # None: SendGrid's events are refused


def compose_providers(settings: Settings, http: httpx.AsyncClient, clock: Clock) -> Providers:
    policy = _policy(settings)
    sms: SmsSender | None = None
    sms_webhooks: SmsWebhooks | None = None
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_sender:
        token = settings.twilio_auth_token.get_secret_value()
        twilio = TwilioSms(
            http,
            settings.twilio_account_sid,
            token,
            settings.twilio_sender,
            base_url=settings.twilio_base_url,
        )
        sms = ResilientSms(twilio, CircuitBreaker("twilio"), policy)
        sms_webhooks = TwilioWebhooks(token)
    return Providers(_email(settings, http, clock, policy), sms, sms_webhooks, _events(settings))


def _email(
    settings: Settings, http: httpx.AsyncClient, clock: Clock, policy: RetryPolicy
) -> EmailSender:
    sendgrid = _sendgrid(settings, http)
    smtp = _smtp(settings, clock)
    email: EmailSender | None = None
    if sendgrid is not None:
        email = ResilientEmail(sendgrid, CircuitBreaker("sendgrid"), policy)
    if smtp is not None:
        resilient_smtp = ResilientEmail(smtp, CircuitBreaker("smtp"), policy)
        email = resilient_smtp if email is None else FallbackEmail(email, resilient_smtp)
    return email or MailboxEmail(settings.data_dir / "mailbox", settings.mail_sender, clock)


def _policy(settings: Settings) -> RetryPolicy:
    first = settings.provider_retry_wait_seconds
    wait: WaitBaseT = wait_none()
    if first:  # doubling from `first`, at most 8 s, plus up to `first` of jitter
        wait = wait_exponential(multiplier=first, max=max(first, 8.0)) + wait_random(0, first)
    return RetryPolicy(attempts=settings.provider_retry_attempts, wait=wait)


def _sendgrid(settings: Settings, http: httpx.AsyncClient) -> SendGridEmail | None:
    if settings.sendgrid_api_key is None:
        return None
    return SendGridEmail(
        http,
        settings.sendgrid_api_key.get_secret_value(),
        settings.mail_sender,
        base_url=settings.sendgrid_base_url,
    )


def _smtp(settings: Settings, clock: Clock) -> SmtpEmail | None:
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpEmail(
        settings.smtp_host,
        settings.smtp_port,
        settings.mail_sender,
        username=settings.smtp_username,
        password=password,
        starttls=settings.smtp_starttls,
        clock=clock,
    )


def _events(settings: Settings) -> EmailEvents | None:
    key = settings.sendgrid_webhook_public_key
    if not key and not settings.sendgrid_events_allow_unsigned:
        return None
    return SendGridEvents(key or None, allow_unsigned=settings.sendgrid_events_allow_unsigned)
