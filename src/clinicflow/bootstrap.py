"""The composition root: builds every part from Settings. The only place that wires."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from clinicflow.adapters.messaging.mailbox import MailboxMailer
from clinicflow.adapters.messaging.smtp import SmtpMailer
from clinicflow.adapters.messaging.smtp_email import SmtpEmail
from clinicflow.booking.calendars import TimeOffCalendar
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.handlers import BookingService
from clinicflow.booking.merging import PatientReassigner
from clinicflow.booking.reads import BookingReader
from clinicflow.booking.slots import AvailabilityService
from clinicflow.catalog import Catalog
from clinicflow.catalog.loader import load_catalog
from clinicflow.identity.apikeys import ApiKeys
from clinicflow.identity.authenticate import Authenticator
from clinicflow.identity.links import PatientLinks
from clinicflow.identity.mailer import Mailer
from clinicflow.identity.oauth import TokenService
from clinicflow.identity.oidc import OidcVerifier
from clinicflow.identity.sessions import SessionStore
from clinicflow.identity.users import UserService
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing, load_or_create
from clinicflow.infra.db import Database
from clinicflow.infra.events import EventBus, build_bus
from clinicflow.notifications.ports import EmailSender
from clinicflow.notifications.wiring import Notifications, build_notifications
from clinicflow.patients import PatientDirectory
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.guard import PatientGuard
from clinicflow.patients.handlers import PatientService
from clinicflow.patients.history import VisitHistory
from clinicflow.patients.reads import PatientReader
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock, SystemClock


@dataclass
class Container:
    settings: Settings
    catalog: Catalog
    clock: Clock
    db: Database
    keys: KeyRing
    trail: AuditTrail
    availability: AvailabilityService
    bookings: BookingService
    booking_reads: BookingReader
    patients: PatientService
    patient_reads: PatientReader
    users: UserService
    sessions: SessionStore
    patient_links: PatientLinks
    apikeys: ApiKeys
    tokens: TokenService
    authenticator: Authenticator
    mailer: Mailer
    notifications: Notifications
    bus: EventBus
    http: httpx.AsyncClient = field(repr=False)

    async def aclose(self) -> None:
        await self.bus.aclose()
        await self.http.aclose()
        await self.db.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    mailer: Mailer | None = None,
    http: httpx.AsyncClient | None = None,
) -> Container:
    catalog = catalog or load_catalog(settings.config_path)
    clock = clock or SystemClock()
    db = Database(settings.database_url, echo=settings.sql_echo)
    keys = load_or_create(settings.resolved_keys_file)
    http = http or httpx.AsyncClient(timeout=10)
    mailer = mailer or _mailer(settings, clock)
    trail = AuditTrail(db, clock)
    directory = PatientDirectory(keys)
    sources = [TimeOffCalendar(catalog)]
    booking_guard = BookingGuard(trail)
    bookings = BookingService(
        db,
        catalog,
        clock,
        directory,
        sources,
        booking_guard,
        secret=hmac.new(keys.index_key, b"idempotency", hashlib.sha256).digest(),
        listeners=[VisitHistory()],
        retries=settings.booking_retries,
    )
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
    notifications = build_notifications(
        db,
        clock,
        catalog,
        keys,
        trail,
        email=_email_sender(settings, clock),
        public_url=settings.public_url,
        clinic_email=settings.mail_sender,
    )
    oidc = None
    if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url:
        oidc = OidcVerifier(
            settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url, http, clock
        )
    return Container(
        settings=settings,
        catalog=catalog,
        clock=clock,
        db=db,
        keys=keys,
        trail=trail,
        availability=AvailabilityService(db, catalog, clock, sources),
        bookings=bookings,
        booking_reads=BookingReader(db, clock, booking_guard),
        patients=PatientService(db, clock, cipher, patient_guard, PatientReassigner(clock)),
        patient_reads=PatientReader(db, clock, cipher, patient_guard),
        users=UserService(
            db, clock, keys, sessions, set(catalog.practitioners), catalog.clinic.name
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
        bus=build_bus(settings, db, clock, [notifications.subscriber]),
        http=http,
    )


def _mailer(settings: Settings, clock: Clock) -> Mailer:
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_sender,
            username=settings.smtp_username,
            password=password,
            starttls=settings.smtp_starttls,
            clock=clock,
        )
    return MailboxMailer(settings.data_dir / "mailbox", settings.mail_sender, clock)


def _email_sender(settings: Settings, clock: Clock) -> EmailSender | None:
    """Patient messages by SMTP when a host is set; otherwise kept locally (channel "local"),
    readable at GET /v1/notifications."""
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
