"""The composition root: builds every part from Settings. The only place that wires."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ssl
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from clinicflow.adapters._resilience import CircuitBreaker as GatewayBreaker
from clinicflow.adapters.calendars.noop import NoCalendar
from clinicflow.adapters.ehr.noop import NoEhr
from clinicflow.adapters.messaging.compose import compose_providers
from clinicflow.adapters.messaging.plain import PlainMailer
from clinicflow.adapters.messaging.resilient import CircuitBreaker
from clinicflow.analytics.recorder import EventRecorder
from clinicflow.booking.cache import CachedAvailability, SlotFinder
from clinicflow.booking.calendars import TimeOffCalendar
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.handlers import BookingService
from clinicflow.booking.merging import PatientReassigner
from clinicflow.booking.reads import BookingReader
from clinicflow.booking.system import LaunchAwareAvailability, LaunchAwareBookings, SystemBooking
from clinicflow.bootstrap._keys import open_keys
from clinicflow.bootstrap._ports import BookingDeskAdapter, PatientNamesAdapter
from clinicflow.bootstrap._providers import payment_gateways, push_sender
from clinicflow.catalog import Catalog
from clinicflow.catalog.launches import LaunchState
from clinicflow.catalog.loader import load_catalog
from clinicflow.flags import FlagService
from clinicflow.identity.apikeys import ApiKeys
from clinicflow.identity.authenticate import Authenticator
from clinicflow.identity.domain.backoff import BackoffPolicy
from clinicflow.identity.links import PatientLinks
from clinicflow.identity.mailer import Mailer
from clinicflow.identity.oauth import TokenService
from clinicflow.identity.oidc import OidcVerifier
from clinicflow.identity.passwords import Passwords
from clinicflow.identity.sessions import SessionStore
from clinicflow.identity.signin_backoff import BackoffStore
from clinicflow.identity.users import UserService
from clinicflow.infra import audit
from clinicflow.infra.audit_anchor import CheckpointWriter
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.bus import Subscriber
from clinicflow.infra.cache import Cache, MemoryCache, RedisCache
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.events import EventBus, build_bus
from clinicflow.infra.jobs import Job, Jobs
from clinicflow.infra.telemetry import instrument_engine, instrument_http_client, setup_tracing
from clinicflow.integrations.handlers import CalendarSubscriber, EhrSubscriber
from clinicflow.notifications.wiring import Notifications, build_notifications
from clinicflow.patients import PatientDirectory
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.consent import SmsConsent
from clinicflow.patients.guard import PatientGuard
from clinicflow.patients.handlers import PatientService
from clinicflow.patients.history import VisitHistory
from clinicflow.patients.reads import PatientReader
from clinicflow.payments.wiring import Payments, build_payments
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock, SystemClock
from clinicflow.waitlist import Timing, Waitlist, build_waitlist
from clinicflow.webhooks.targets import TargetPolicy
from clinicflow.webhooks.wiring import Webhooks, build_webhooks


@dataclass
class Container:
    settings: Settings
    catalog: Catalog
    launches: LaunchState
    clock: Clock
    db: Database
    keys: KeyRing
    trail: AuditTrail
    availability: CachedAvailability  # answers dropped when a booking commits
    bookings: BookingService
    booking_reads: BookingReader
    patients: PatientService
    patient_reads: PatientReader
    waitlist: Waitlist
    users: UserService
    sessions: SessionStore
    patient_links: PatientLinks
    apikeys: ApiKeys
    tokens: TokenService
    authenticator: Authenticator
    mailer: Mailer  # the clinic's one email sender, for plain messages
    notifications: Notifications
    webhooks: Webhooks
    payments: Payments
    bus: EventBus
    flags: FlagService
    jobs: Jobs  # periodic work: due reminders …; run by the worker (and serve, embedded)
    http: httpx.AsyncClient = field(repr=False)
    # Every provider's circuit breaker, for metrics and health pages.
    breakers: list[CircuitBreaker | GatewayBreaker] = field(default_factory=list)

    async def aclose(self) -> None:
        await self.jobs.stop()
        await self.bus.aclose()
        await self.http.aclose()
        await self.db.dispose()


@functools.cache
def _tls() -> ssl.SSLContext:
    """The outbound TLS context (certifi's CAs), loaded once per process: each load costs more
    than the rest of a container's build."""
    return httpx.create_ssl_context()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    http: httpx.AsyncClient | None = None,
) -> Container:
    catalog = catalog or load_catalog(settings.config_path)
    clock = clock or SystemClock()
    db = Database(settings.database_url, echo=settings.sql_echo)
    # Refuses to start when stored data needs keys the file lacks (or the file is gone).
    keys = open_keys(settings.database_url, settings.resolved_keys_file)
    audit.use_key(db, keys.audit_key)
    http = http or httpx.AsyncClient(timeout=10, verify=_tls())
    # Traces (every process builds here: serve, worker, CLI); idempotent per process.
    setup_tracing(settings)
    instrument_engine(db.engine)
    instrument_http_client(http)
    trail = AuditTrail(db, clock)
    directory = PatientDirectory(keys)
    sources = [TimeOffCalendar(catalog)]
    booking_guard = BookingGuard(trail)
    # A service launched at run time (POST /v1/services/{key}/launch) is live: every context
    # sees the catalog through the one launched set (catalog.launches), cached per process.
    launches = LaunchState(db, settings.launch_cache_seconds)
    bookable = launches.catalog(catalog)
    bookings = LaunchAwareBookings(
        launches,
        db,
        bookable,
        clock,
        directory,
        sources,
        booking_guard,
        secret=hmac.new(keys.index_key, b"idempotency", hashlib.sha256).digest(),
        listeners=[VisitHistory()],
        retries=settings.booking_retries,
    )
    availability = LaunchAwareAvailability(launches, db, bookable, clock, sources)
    cipher = PatientCipher(keys)
    patient_guard = PatientGuard(trail)
    sessions = SessionStore(
        db,
        clock,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_max_hours),
    )
    apikeys = ApiKeys(db, clock)
    tokens = TokenService(
        db,
        clock,
        keys,
        apikeys,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=settings.access_token_minutes),
    )
    providers = compose_providers(settings, http, clock)
    # Sign-in links and waitlist mails leave by the same sender as booking messages.
    mailer = PlainMailer(providers.email)
    push, push_key = push_sender(settings, http, clock)
    notifications = build_notifications(
        db,
        clock,
        bookable,
        keys,
        trail,
        email=providers.email,
        sms=providers.sms,
        public_url=settings.public_url,
        clinic_email=settings.mail_sender,
        sms_status_callbacks=settings.sms_status_callbacks,
        sms_webhooks=providers.sms_webhooks,
        email_events=providers.email_events,
        consent=SmsConsent(db, cipher, trail),
        push=push,
        push_public_key=push_key,
        push_ttl=settings.push_ttl_seconds,
        push_allow_loopback=settings.push_allow_loopback,
        sending_timeout=timedelta(seconds=settings.message_sending_timeout_seconds),
        reminder_offsets={
            key: [timedelta(minutes=m) for m in service.policy.reminder_minutes]
            for key, service in catalog.services.items()
        },
    )
    targets = TargetPolicy(
        allow_http=settings.webhook_allow_http,
        allowed_networks=tuple(settings.webhook_allowed_networks),
    )
    webhooks = build_webhooks(db, clock, keys, http, trail=trail, targets=targets)
    gateways, real, breakers = payment_gateways(settings, http, clock)
    flags = FlagService(db, clock)
    payments = build_payments(
        db,
        clock,
        bookable,
        trail,
        launches=launches.refresh,
        gateways=gateways,
        bookings=BookingDeskAdapter(db, clock, bookings),
        names=PatientNamesAdapter(cipher),
        reconcilable=real,
        backup_allowed=lambda: flags.is_enabled("paypal_backup"),
        secret=hmac.new(keys.index_key, b"payments-idempotency", hashlib.sha256).digest(),
    )
    waitlist = build_waitlist(
        db,
        clock,
        bookable,
        keys,
        trail,
        config_path=settings.config_path,
        public_url=settings.public_url,
        desk=SystemBooking(bookings, availability, launches),
        messenger=mailer,
        timing=Timing(
            wave_weeks=settings.waitlist_wave_weeks,
            invitation_hours=settings.waitlist_invitation_hours,
            offer_minutes=settings.waitlist_offer_minutes,
            nurture_days=settings.waitlist_nurture_days,
        ),
        auto_offers=lambda: flags.is_enabled("waitlist_auto_offers"),
    )
    oidc = None
    if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url:
        oidc = OidcVerifier(
            settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url, http, clock
        )
    return Container(
        settings=settings,
        catalog=bookable,  # launched services read as active
        launches=launches,
        clock=clock,
        db=db,
        keys=keys,
        trail=trail,
        availability=_cached(settings, db, availability, bookable, clock),
        bookings=bookings,
        booking_reads=BookingReader(db, clock, booking_guard),
        patients=PatientService(db, clock, cipher, patient_guard, PatientReassigner(clock)),
        patient_reads=PatientReader(db, clock, cipher, patient_guard),
        waitlist=waitlist,
        users=UserService(
            db,
            clock,
            keys,
            sessions,
            set(catalog.practitioners),
            catalog.clinic.name,
            BackoffStore(db, _backoff_policy(settings)),
            passwords=Passwords(settings.password_hashing),
        ),
        sessions=sessions,
        patient_links=PatientLinks(
            db,
            clock,
            directory,
            sessions,
            mailer,
            lifetime=timedelta(minutes=settings.patient_link_minutes),
            public_url=settings.public_url,
            clinic_name=catalog.clinic.name,
        ),
        apikeys=apikeys,
        tokens=tokens,
        authenticator=Authenticator(
            apikeys,
            sessions,
            tokens,
            oidc,
            oidc_issuer=settings.oidc_issuer,
            role_claim=settings.oidc_role_claim,
            practitioner_claim=settings.oidc_practitioner_claim,
        ),
        mailer=mailer,
        notifications=notifications,
        webhooks=webhooks,
        payments=payments,
        bus=build_bus(
            settings,
            db,
            clock,
            [
                *_subscribers(db, clock, notifications),
                webhooks.fanout,
                payments.subscriber,
                *waitlist.subscribers,
            ],
        ),
        flags=flags,
        jobs=Jobs(clock, _jobs(settings, db, notifications, webhooks, waitlist)),
        http=http,
        breakers=[*breakers],
    )


def _backoff_policy(settings: Settings) -> BackoffPolicy:
    return BackoffPolicy(
        free_failures=settings.signin_free_failures,
        base=timedelta(seconds=settings.signin_backoff_seconds),
        cap=timedelta(minutes=settings.signin_backoff_max_minutes),
    )


def _cached(
    settings: Settings, db: Database, finder: SlotFinder, catalog: Catalog, clock: Clock
) -> CachedAvailability:
    store: Cache | None = None
    if settings.availability_cache:
        redis = settings.cache_storage == "redis"
        store = RedisCache(settings.redis_url, settings.cache_prefix) if redis else MemoryCache()
    cached = CachedAvailability(finder, store, catalog, clock, settings.availability_cache_seconds)
    db.on_commit(cached.booking_changed)
    return cached


def _subscribers(db: Database, clock: Clock, notifications: Notifications) -> list[Subscriber]:
    # Calendar and EHR adapters come with their issue; until then the no-op ones acknowledge.
    return [
        notifications.subscriber,
        notifications.erasure,
        EventRecorder(db, clock),
        CalendarSubscriber(NoCalendar()),
        EhrSubscriber(NoEhr()),
    ]


def _jobs(
    settings: Settings,
    db: Database,
    notifications: Notifications,
    webhooks: Webhooks,
    waitlist: Waitlist,
) -> list[Job]:
    every = timedelta(seconds=settings.reminder_poll_seconds)
    waitlist_every = timedelta(seconds=settings.waitlist_poll_seconds)
    return [
        Job("reminders", every, notifications.reminders.send_due),
        Job("message_recovery", every, notifications.recovery.resume),
        Job("webhook_retries", timedelta(seconds=5), webhooks.sender.send_due),
        # Entries whose process died between their commit and their seal (infra.audit).
        Job("audit_seal", timedelta(seconds=10), lambda _now: audit.seal(db)),
        # The chain's head, kept outside the database (infra.audit_anchor).
        Job(
            "audit_checkpoint",
            timedelta(seconds=settings.audit_checkpoint_seconds),
            CheckpointWriter(db, settings.resolved_audit_checkpoint_file).run,
        ),
        *(Job(name, waitlist_every, run) for name, run in waitlist.jobs()),
    ]
