"""The notifications context's settings: email (SMTP, SendGrid), SMS (Twilio), Web Push, the
providers' retries, and when reminders and stuck messages are looked at."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from clinicflow.settings.completeness import all_or_none


class NotificationSettings(BaseSettings):
    """CLINICFLOW_SMTP_*, _SENDGRID_*, _TWILIO_*, _VAPID_*, _PUSH_* and the rest."""

    # Email: SendGrid and/or SMTP when configured; otherwise every email is written as an
    # .eml file to data_dir/mailbox.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_sender: str = "clinic@localhost"
    # Messaging providers (adapters/messaging/compose.py). Email by SendGrid when its key is
    # set, falling back to SMTP when a host is set too; SMS by Twilio when all three are set.
    sendgrid_api_key: SecretStr | None = None
    sendgrid_base_url: str = "https://api.sendgrid.com"
    # The Signed Event Webhook's verification key (base64 DER, as SendGrid shows it). Without
    # it, events are refused unless unsigned ones are explicitly allowed.
    sendgrid_webhook_public_key: str | None = None
    sendgrid_events_allow_unsigned: bool = False
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_sender: str | None = None  # an E.164 number, or a Messaging Service SID ("MG…")
    twilio_base_url: str = "https://api.twilio.com"
    # Ask Twilio to report delivery at public_url + /v1/webhooks/twilio/status.
    sms_status_callbacks: bool = True
    # Around every provider call: attempts (the first included) and the first backoff.
    provider_retry_attempts: int = Field(default=3, gt=0)
    provider_retry_wait_seconds: float = Field(default=0.5, ge=0)
    # Web Push (VAPID) when a private key is set: a PEM P-256 key, or base64url of its raw 32
    # bytes (`vapid --gen`, web-push generate-vapid-keys). The public key browsers subscribe
    # with is derived from it; when given too, it must match. The subject is how push
    # services reach the clinic: "mailto:…" or "https:…".
    vapid_private_key: SecretStr | None = None
    vapid_public_key: str | None = None
    vapid_subject: str | None = None
    # How long a push service keeps a message for a browser that is offline (at most 28 days).
    push_ttl_seconds: int = Field(default=86_400, ge=0, le=28 * 86_400)
    # Accept push endpoints on this machine (loopback): only for tests and development, as the
    # server posts to whatever URL a patient's browser registered.
    push_allow_loopback: bool = False

    # How often due reminders are looked for (by every worker, and by serve when embedded).
    reminder_poll_seconds: float = Field(default=30.0, gt=0)
    # A message claimed for sending ("sending") whose worker died is sent again, with the same
    # Message-ID, after this long. Longer than a provider call with all its retries can take.
    message_sending_timeout_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _twilio_complete(self) -> Self:
        return all_or_none(self, "twilio_account_sid", "twilio_auth_token", "twilio_sender")

    @model_validator(mode="after")
    def _vapid_complete(self) -> Self:
        if self.vapid_private_key is None:
            return self
        if not (self.vapid_subject or "").startswith(("mailto:", "https:")):
            raise ValueError(
                "CLINICFLOW_VAPID_PRIVATE_KEY needs CLINICFLOW_VAPID_SUBJECT too: a contact "
                "for push services, 'mailto:clinic@example.com' or an https: URL"
            )
        return self
