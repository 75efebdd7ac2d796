"""Settings from the environment (prefix CLINICFLOW_), built once and passed down."""

from __future__ import annotations

import json
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")
# Addresses or CIDRs; from the environment as a JSON list or comma separated.
Networks = Annotated[list[IPv4Network | IPv6Network], NoDecode]
SERVICES = (
    "booking",
    "patients",
    "identity",
    "notifications",
    "waitlist",
    "payments",
    "web",
    "fhir",
)
RATE_LIMITS: dict[str, dict[str, str]] = {
    "anonymous": {
        "read": "300/minute",
        "write": "60/minute",
        "auth": "10/minute",
        "webhook": "600/minute",
    },
    "patient": {"read": "300/minute", "write": "60/minute"},
    "staff": {"read": "1200/minute", "write": "300/minute", "auth": "20/minute"},
    "standard": {"read": "600/minute", "write": "120/minute"},
    "partner": {"read": "3000/minute", "write": "600/minute"},
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLINICFLOW_", extra="ignore")

    # The embedded default: one SQLite file, no other server.
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'clinicflow.sqlite3'}"
    config_path: Path = Path("config/clinic.yaml")
    data_dir: Path = DEFAULT_DATA_DIR
    # PHI key ring (default data_dir/keys.json); made only on first set-up (an empty
    # database) or by `clinicflow keys init`, never over stored data.
    keys_file: Path | None = None
    # Where checkpoints of the audit chain's head go, outside the database (default
    # data_dir/audit-checkpoints.jsonl), and how often the head is written there.
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_seconds: int = 60
    sql_echo: bool = False
    # The analytics lake (docs/analytics.md "The lake"): the Iceberg SQL catalog (SQLAlchemy
    # URL; default an SQLite file data_dir/lake/catalog.sqlite3; in production the clinic's
    # PostgreSQL, e.g. postgresql+psycopg2://…), where its Parquet files go (a folder, default
    # data_dir/lake/warehouse, or s3://bucket/prefix with AWS_* credentials and, for an
    # S3-compatible store, its endpoint), how often the worker moves new events into it, and
    # how many events one commit takes.
    lake_catalog_url: str | None = None
    lake_warehouse: str | None = None
    lake_s3_endpoint: str | None = None
    lake_sync_seconds: float = Field(default=60.0, gt=0)
    lake_batch_size: int = Field(default=500, gt=0)
    # The metrics (docs/analytics.md "Metrics"): a patient seen is churned after this many
    # days with no visit and nothing booked, per service (JSON, e.g. {"weight_loss": 30});
    # the default for the rest. A ZIP3 row counting fewer patients than `analytics_min_cell`
    # has its figures withheld. Availability views are stored every so many seconds.
    analytics_churn_days: dict[str, int] = Field(default_factory=dict)
    analytics_churn_default_days: int = Field(default=90, gt=0)
    analytics_min_cell: int = Field(default=5, ge=1)
    analytics_views_flush_seconds: float = Field(default=60.0, gt=0)
    # The no-show and churn models are retrained this often (docs/ml.md), in each worker.
    ml_retrain_hours: float = Field(default=24.0, gt=0)
    # One extra reminder, two days before the visit, for bookings whose cached no-show risk
    # (docs/ml.md) is above this (0 to 1, e.g. 0.3); unset: no extra reminder.
    no_show_extra_reminder_threshold: float | None = Field(default=None, ge=0, le=1)
    # How many times a booking is retried when a concurrent writer won the race.
    booking_retries: int = 3
    # Longest a request may take before it is cancelled and answered 503 (0: no deadline).
    request_deadline_seconds: float = Field(default=10, ge=0)

    # Where the clinic's pages and API are reached; sign-in links and the token issuer use it.
    public_url: str = "http://127.0.0.1:8000"
    # Staff and patient sessions: idle timeout and absolute lifetime.
    session_idle_minutes: int = Field(default=15, gt=0)
    session_max_hours: int = Field(default=12, gt=0)
    patient_link_minutes: int = Field(default=15, gt=0)
    # Staff sign-in back-off, per (account name, client network: IPv4 address or IPv6 /64):
    # this many failures are free, then each attempt waits twice as long as the last, from
    # the base up to the cap.
    signin_free_failures: int = Field(default=5, gt=0)
    signin_backoff_seconds: int = Field(default=30, gt=0)
    signin_backoff_max_minutes: int = Field(default=15, gt=0)
    # And per account, over all networks it has not signed in from in the last
    # `signin_known_days`: this many failures (forgotten after the window passes with no
    # attempt), then new networks wait the same doubling steps; known networks never do.
    signin_account_failures: int = Field(default=20, gt=0)
    signin_account_window_minutes: int = Field(default=60, gt=0)
    signin_known_days: int = Field(default=30, gt=0)
    # OAuth 2.0 client-credentials tokens issued here (JWT, ES256).
    token_audience: str = "clinicflow-api"  # noqa: S105 (an audience name, not a secret)
    access_token_minutes: int = Field(default=15, gt=0)
    # Staff password hashes (identity/passwords.py): argon2id at RFC 9106's strength. The
    # test suite alone sets "insecure-fast"; a hash made that way is rehashed at sign-in.
    password_hashing: Literal["strong", "insecure-fast"] = "strong"  # noqa: S105 (a strength)
    # An external OpenID Connect provider whose tokens staff may use (all three, or none).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "clinicflow_role"
    oidc_practitioner_claim: str = "clinicflow_practitioner"
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
    # Payment gateways (payments/, adapters/payment_gateways/): Stripe when its secret key and
    # webhook signing secret are set; PayPal when its client id, secret and webhook id are set.
    # With neither, an in-memory fake of each serves the embedded demo (nothing is charged).
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None  # whsec_…: the endpoint's signing secret
    stripe_base_url: str = "https://api.stripe.com"
    # The booking site's card step (web/paying.py): Stripe.js runs in the buyer's browser with
    # the publishable key (pk_…); without it the site offers no card payment. Stripe.js must
    # load from Stripe's own origin (it cannot be vendored): that page alone widens its
    # Content-Security-Policy to this origin (tests point it at a local fake).
    stripe_publishable_key: str | None = None
    stripe_js_origin: str = "https://js.stripe.com"
    stripe_webhook_tolerance_seconds: int = Field(default=300, gt=0)
    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None  # the id PayPal gave the webhook subscription
    paypal_base_url: str = "https://api-m.sandbox.paypal.com"  # live: https://api-m.paypal.com
    # Where PayPal sends the buyer back after approving (or not); unset: PayPal's JS popup.
    # The booking site offers PayPal only by redirect: set these to public_url +
    # /book/paypal/return and public_url + /book/paypal/cancel (web/paying.py).
    paypal_return_url: str | None = None
    paypal_cancel_url: str | None = None
    # Each gateway's circuit opens after this many outages in a row, for this many seconds.
    payment_breaker_threshold: int = Field(default=5, gt=0)
    payment_breaker_reset_seconds: float = Field(default=30.0, gt=0)
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
    # MediRecords, the EHR (adapters/ehr/medirecords.py, docs/integrations.md): its FHIR API's
    # base (`{API_URL}/v1`) and the API token MediRecords issues to Connect customers turn the
    # sync on. Visits are pushed only with `push_visits` (off until MediRecords confirms its
    # appointment interface); patients are matched or created either way. The webhook key is
    # the API_KEY MediRecords presents on its patient webhooks (`Authorization: Bearer`).
    medirecords_url: str | None = None
    medirecords_token: SecretStr | None = None
    medirecords_webhook_key: SecretStr | None = None
    medirecords_push_visits: bool = False
    # Our identifiers on MediRecords' resources (Patient.identifier, Appointment.identifier).
    medirecords_patient_system: str = "urn:clinicflow:patient"
    medirecords_booking_system: str = "urn:clinicflow:booking"
    medirecords_timeout_seconds: float = Field(default=10.0, gt=0)
    # A CRM (adapters/crm/hubspot.py): a HubSpot private app's token (scope
    # crm.objects.contacts.write) turns on the contact sync, for consenting patients only.
    hubspot_token: SecretStr | None = None
    hubspot_url: str = "https://api.hubapi.com"
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
    # `clinicflow demo` signs a front-desk account in with this (random when unset).
    demo_password: SecretStr | None = None

    # Outbound webhooks (webhooks/targets.py): receivers must be https on a public address.
    # Development only: plain http, and networks exempt from the public-address rule (e.g.
    # ["127.0.0.1/32"] for a receiver on this machine, or an internal CRM's range).
    webhook_allow_http: bool = False
    webhook_allowed_networks: Networks = Field(default_factory=list)

    # The edge. Peers whose X-Forwarded-For (and -Proto) is believed: the ingress or load
    # balancer, as addresses or CIDRs (JSON list or comma separated); none by default, so a
    # client cannot choose the address its rate limit is counted under. Prometheus /metrics
    # is answered only on its own port (`clinicflow serve --metrics-port`), never the API's.
    trusted_proxies: Networks = Field(default_factory=list)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # Which contexts' routes this process serves ("booking,patients"); all when empty.
    services: str = ""

    # Request hygiene: the largest body a route takes (a few routes take more), and the
    # browser origins allowed to call the API (CORS; none by default).
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    cors_origins: list[str] = Field(default_factory=list)

    # Availability answers are cached and dropped when a booking commits: in memory (one
    # process), or in Redis when several processes or replicas serve.
    availability_cache: bool = True
    availability_cache_seconds: float = Field(default=60.0, gt=0)
    cache_storage: Literal["memory", "redis"] = "memory"
    cache_prefix: str = "clinicflow:cache"  # one per deployment sharing a Redis

    # Rate limits per client (API key, user, or IP when anonymous) and route class, by tier
    # (an API key's tier; "staff", "patient" for sessions; "anonymous"). A tier may leave a
    # class out to take the anonymous tier's limit. Env: JSON, e.g.
    # CLINICFLOW_RATE_LIMITS='{"standard": {"read": "600/minute"}}' (replaces the table).
    rate_limits_enabled: bool = True
    rate_limit_storage: Literal["memory", "redis"] = "memory"  # redis: across replicas
    rate_limits: dict[str, dict[str, str]] = Field(default_factory=lambda: dict(RATE_LIMITS))

    # Events (infra/relay.py, infra/events/): in-process dispatch after commit (the embedded
    # default), or Redis Streams with one consumer group per subscriber (scale-out).
    event_transport: Literal["inprocess", "redis"] = "inprocess"
    redis_url: str = "redis://127.0.0.1:6379/0"
    event_stream: str = "clinicflow:events"
    event_stream_maxlen: int = Field(default=100_000, gt=0)  # approximate (MAXLEN ~)
    event_batch_size: int = Field(default=100, gt=0)
    # Failed deliveries: exponential backoff with full jitter, then dead-lettered.
    event_max_attempts: int = Field(default=5, gt=0)
    event_retry_base_seconds: float = Field(default=2.0, gt=0)
    event_retry_cap_seconds: float = Field(default=600.0, gt=0)
    # How long a Redis entry stays with a silent consumer before another worker claims it.
    event_claim_idle_seconds: float = Field(default=60.0, ge=0)
    # How often the relay and the consumers look again when there was nothing to do.
    event_poll_seconds: float = Field(default=1.0, gt=0)
    # How often due reminders are looked for (by every worker, and by serve when embedded).
    reminder_poll_seconds: float = Field(default=30.0, gt=0)
    # A message claimed for sending ("sending") whose worker died is sent again, with the same
    # Message-ID, after this long. Longer than a provider call with all its retries can take.
    message_sending_timeout_seconds: float = Field(default=300.0, gt=0)

    # Waitlist (docs/waitlist.md): launch waves sized to the initial-visit places in the next
    # `waitlist_wave_weeks`; a launch invitation's link is open `waitlist_invitation_hours`;
    # a freed slot is held for its offer `waitlist_offer_minutes`; waiting entries hear from
    # the clinic every `waitlist_nurture_days`. The three waitlist jobs run every
    # `waitlist_poll_seconds`. Booking re-reads which services were launched at most every
    # `launch_cache_seconds` (a launch in the same process is seen at once).
    waitlist_wave_weeks: int = Field(default=2, ge=1, le=13)
    waitlist_invitation_hours: float = Field(default=48.0, gt=0)
    waitlist_offer_minutes: float = Field(default=30.0, gt=0)
    waitlist_nurture_days: float = Field(default=30.0, gt=0)
    waitlist_poll_seconds: float = Field(default=30.0, gt=0)
    launch_cache_seconds: float = Field(default=5.0, ge=0)
    # More subscribers to load, "module:factory" comma separated; factory(SubscriberDeps).
    extra_subscribers: str = ""

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

    # OpenTelemetry traces (infra/telemetry.py, docs/observability.md). auto: export by OTLP
    # when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) is set, as
    # deploy/ sets it, else export nothing; off / otlp / console force it. Trace ids reach
    # log lines and the outbox in every mode. The ratio samples the traces this process starts.
    tracing: Literal["auto", "off", "otlp", "console"] = "auto"
    tracing_sample_ratio: float = Field(default=1.0, ge=0, le=1)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept the usual URL spellings and pick the async driver this code runs on."""
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgresql+psycopg://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    @field_validator("trusted_proxies", "webhook_allowed_networks", mode="before")
    @classmethod
    def _networks_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            return (
                json.loads(text)
                if text.startswith("[")
                else [part.strip() for part in text.split(",") if part.strip()]
            )
        return value

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits_parse(cls, tiers: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from limits import parse  # the library's own grammar: "120/minute", "10 per second"

        if "anonymous" not in tiers:
            raise ValueError("rate_limits needs an 'anonymous' tier (callers with no credentials)")
        for tier, classes in tiers.items():
            for name, value in classes.items():
                if name not in ("read", "write", "auth", "webhook"):
                    raise ValueError(f"rate_limits.{tier}.{name}: use read, write, auth or webhook")
                try:
                    parse(value)
                except ValueError:
                    raise ValueError(
                        f"rate_limits.{tier}.{name}: {value!r} is not a rate; write e.g. 120/minute"
                    ) from None
        return tiers

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        given = [self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url]
        if any(given) and not all(given):
            raise ValueError(
                "set CLINICFLOW_OIDC_ISSUER, CLINICFLOW_OIDC_AUDIENCE and "
                "CLINICFLOW_OIDC_JWKS_URL together, or none of them"
            )
        return self

    @model_validator(mode="after")
    def _twilio_complete(self) -> Settings:
        given = [self.twilio_account_sid, self.twilio_auth_token, self.twilio_sender]
        if any(given) and not all(given):
            raise ValueError(
                "set CLINICFLOW_TWILIO_ACCOUNT_SID, CLINICFLOW_TWILIO_AUTH_TOKEN and "
                "CLINICFLOW_TWILIO_SENDER together, or none of them"
            )
        return self

    @model_validator(mode="after")
    def _vapid_complete(self) -> Settings:
        if self.vapid_private_key is None:
            return self
        if not (self.vapid_subject or "").startswith(("mailto:", "https:")):
            raise ValueError(
                "CLINICFLOW_VAPID_PRIVATE_KEY needs CLINICFLOW_VAPID_SUBJECT too: a contact "
                "for push services, 'mailto:clinic@example.com' or an https: URL"
            )
        return self

    @model_validator(mode="after")
    def _gateways_complete(self) -> Settings:
        stripe = [self.stripe_secret_key, self.stripe_webhook_secret]
        if any(stripe) and not all(stripe):
            raise ValueError(
                "set CLINICFLOW_STRIPE_SECRET_KEY and CLINICFLOW_STRIPE_WEBHOOK_SECRET together,"
                " or neither"
            )
        paypal = [self.paypal_client_id, self.paypal_client_secret, self.paypal_webhook_id]
        if any(paypal) and not all(paypal):
            raise ValueError(
                "set CLINICFLOW_PAYPAL_CLIENT_ID, CLINICFLOW_PAYPAL_CLIENT_SECRET and "
                "CLINICFLOW_PAYPAL_WEBHOOK_ID together, or none of them"
            )
        return self

    @model_validator(mode="after")
    def _microsoft_complete(self) -> Settings:
        given = [self.microsoft_tenant_id, self.microsoft_client_id, self.microsoft_client_secret]
        if any(given) and not all(given):
            raise ValueError(
                "set CLINICFLOW_MICROSOFT_TENANT_ID, CLINICFLOW_MICROSOFT_CLIENT_ID and "
                "CLINICFLOW_MICROSOFT_CLIENT_SECRET together, or none of them"
            )
        return self

    @model_validator(mode="after")
    def _medirecords_complete(self) -> Settings:
        if bool(self.medirecords_url) != (self.medirecords_token is not None):
            raise ValueError(
                "set CLINICFLOW_MEDIRECORDS_URL and CLINICFLOW_MEDIRECORDS_TOKEN together, "
                "or neither"
            )
        return self

    @model_validator(mode="after")
    def _calendly_complete(self) -> Settings:
        if self.calendly_webhook_signing_key is not None and self.calendly_token is None:
            raise ValueError(
                "CLINICFLOW_CALENDLY_WEBHOOK_SIGNING_KEY needs CLINICFLOW_CALENDLY_TOKEN too "
                "(the token makes the subscription that uses the key)"
            )
        return self

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = sorted(set(names) - set(SERVICES))
        if unknown:
            raise ValueError(f"unknown service(s) {', '.join(unknown)}; use {', '.join(SERVICES)}")
        return ",".join(names)

    @property
    def enabled_services(self) -> tuple[str, ...]:
        return tuple(self.services.split(",")) if self.services else SERVICES

    @property
    def token_issuer(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def resolved_keys_file(self) -> Path:
        return self.keys_file or self.data_dir / "keys.json"

    @property
    def resolved_lake_catalog_url(self) -> str:
        return self.lake_catalog_url or f"sqlite:///{self.data_dir / 'lake' / 'catalog.sqlite3'}"

    @property
    def resolved_lake_warehouse(self) -> str:
        return self.lake_warehouse or str(self.data_dir / "lake" / "warehouse")

    @property
    def resolved_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"
