"""The calendars context's settings: the sources of busy time (CalDAV, Microsoft 365,
Calendly), their sync and freshness, and clinicflow's own ICS feed (docs/calendars.md)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from clinicflow.settings.completeness import all_or_none


class CalendarSettings(BaseSettings):
    """CLINICFLOW_CALDAV_*, _CALENDAR_*, _MICROSOFT_*."""

    # Practitioners' CalDAV calendars (config/clinic.yaml `caldav:`; docs/calendars.md): their
    # passwords (app passwords), by practitioner key, as a JSON object. Never in the YAML.
    caldav_passwords: dict[str, SecretStr] = Field(default_factory=dict)
    # clinicflow's own ICS feed per practitioner (GET /v1/practitioners/{key}/calendar.ics):
    # bookings from this many days back to this many ahead; a cancelled one stays listed as
    # STATUS:CANCELLED this many days after its cancellation, so subscribed apps drop it.
    calendar_feed_past_days: int = Field(default=30, ge=0, le=366)
    calendar_feed_future_days: int = Field(default=180, ge=1, le=730)
    calendar_feed_cancelled_days: int = Field(default=14, ge=0, le=90)
    # Microsoft 365 calendars (adapters/calendars/microsoft.py, docs/calendars.md): on when
    # the tenant, client id and client secret are set (an app registration with the
    # application permission Calendars.ReadWrite, scoped by the clinic's administrator to the
    # practitioners' mailboxes). Practitioners map to mailboxes in config/clinic.yaml.
    microsoft_tenant_id: str | None = None
    microsoft_client_id: str | None = None
    microsoft_client_secret: SecretStr | None = None
    microsoft_login_url: str = "https://login.microsoftonline.com"
    microsoft_graph_url: str = "https://graph.microsoft.com/v1.0"
    # Change notifications: Graph posts to public_url + /v1/webhooks/microsoft, each carrying a
    # clientState derived from this secret (per practitioner); unset: no subscriptions, the
    # periodic delta sync alone keeps the busy times fresh.
    microsoft_notification_secret: SecretStr | None = None
    # Outlook event subscriptions live at most 4,230 minutes; renewed when less than
    # `renew_minutes` is left (the renewal job runs every few minutes).
    microsoft_subscription_minutes: int = Field(default=4200, ge=60, le=4230)
    microsoft_subscription_renew_minutes: int = Field(default=720, gt=0)
    # The window the delta cursor covers, from today (a new cursor each day moves it).
    microsoft_window_days: int = Field(default=60, ge=1, le=365)
    # Graph allows 4 requests in flight per app and mailbox (MailboxConcurrency).
    microsoft_max_in_flight: int = Field(default=4, ge=1, le=4)
    # A throttled call (429/503 with Retry-After) waits that long and tries again, up to this
    # many seconds in all; past it the call fails and the outbox retries it later.
    microsoft_max_retry_wait_seconds: float = Field(default=30.0, ge=0)
    # The booking-time check of one practitioner's calendar.
    microsoft_live_timeout_seconds: float = Field(default=1.5, gt=0)

    # External calendars as busy time (issue 17; docs/calendars.md). Every
    # `calendar_poll_seconds` each configured source is asked what changed (or, without a
    # cursor, for everything from today to the longest advance booking window). A source
    # whose last success is older than its staleness budget (`calendar_staleness_minutes`,
    # or its own in `calendar_staleness_budgets`, JSON minutes by source name, e.g.
    # {"calendly": 60, "microsoft": 15}) no longer confirms a practitioner's times; when
    # every source of a practitioner is stale, `calendar_unconfirmed` says what happens:
    # "hide" (default) offers none of their times; "hold" (offer them with a hold staff
    # confirm) is not yet supported and refused at start. Each source has a circuit breaker:
    # `calendar_breaker_threshold` failures in a row keep it from being called for
    # `calendar_breaker_reset_seconds`. At booking time the chosen practitioner's sources are
    # asked live, each for at most `calendar_live_timeout_seconds`.
    calendar_poll_seconds: float = Field(default=300.0, gt=0)
    calendar_staleness_minutes: float = Field(default=30.0, gt=0)
    calendar_staleness_budgets: dict[str, float] = Field(default_factory=dict)
    calendar_unconfirmed: Literal["hide", "hold"] = "hide"
    calendar_breaker_threshold: int = Field(default=5, ge=1)
    calendar_breaker_reset_seconds: float = Field(default=60.0, gt=0)
    calendar_live_timeout_seconds: float = Field(default=1.5, gt=0, le=10)

    @model_validator(mode="after")
    def _microsoft_complete(self) -> Self:
        return all_or_none(
            self, "microsoft_tenant_id", "microsoft_client_id", "microsoft_client_secret"
        )


class CalendlySettings(BaseSettings):
    """CLINICFLOW_CALENDLY_*: the page bookings' source (calendars/page_bookings/)."""

    # Calendly (adapters/calendars/calendly.py, docs/calendly.md): a personal access token
    # (Integrations → API & Webhooks; OAuth is not built yet) turns on the busy-time feed for
    # the practitioners with a `calendly:` block in clinic.yaml; the signing key is the one
    # `clinicflow calendly subscribe` gives Calendly, and the webhook's signatures are
    # checked against it (refused when older than the tolerance).
    calendly_token: SecretStr | None = None
    calendly_webhook_signing_key: SecretStr | None = None
    calendly_base_url: str = "https://api.calendly.com"
    calendly_webhook_tolerance_seconds: int = Field(default=180, gt=0)
    # The token's user's budget (500 a minute on paid plans, 50 on free ones), the calls in
    # flight at once, and the booking-time check's time-out.
    calendly_requests_per_minute: int = Field(default=500, gt=0)
    calendly_max_in_flight: int = Field(default=10, gt=0)
    calendly_live_timeout_seconds: float = Field(default=1.5, gt=0)
    calendly_breaker_threshold: int = Field(default=5, gt=0)
    calendly_breaker_reset_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _calendly_complete(self) -> Self:
        if self.calendly_webhook_signing_key is not None and self.calendly_token is None:
            raise ValueError(
                "CLINICFLOW_CALENDLY_WEBHOOK_SIGNING_KEY needs CLINICFLOW_CALENDLY_TOKEN too "
                "(the token makes the subscription that uses the key)"
            )
        return self
