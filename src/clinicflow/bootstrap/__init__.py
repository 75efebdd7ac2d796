"""The composition root: builds every part from Settings. The only place that wires.

Each context's wiring reads in one module (`booking.py`, `patients.py`, `identity.py`,
`notifications.py`, `webhooks.py`, `payments.py`, `waitlist.py`; the bus and jobs in
`operations.py`), over the shared `core.py`; `build` puts them together, in dependency
order, and names what routes may reach (`_provided`, read through `infra.web.provided`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from clinicflow.adapters._resilience import CircuitBreaker as GatewayBreaker
from clinicflow.adapters.messaging.resilient import CircuitBreaker
from clinicflow.analytics.service import AnalyticsReports
from clinicflow.booking.availability.service import CachedAvailability
from clinicflow.booking.service import BookingReader, BookingService
from clinicflow.bootstrap.analytics import AnalyticsParts, wire_analytics
from clinicflow.bootstrap.booking import wire_booking
from clinicflow.bootstrap.calendars import Calendars, wire_calendars
from clinicflow.bootstrap.calendly import CalendlyParts, wire_calendly
from clinicflow.bootstrap.core import open_core
from clinicflow.bootstrap.fhir import SmartParts, wire_fhir
from clinicflow.bootstrap.forecasting import ForecastingParts, wire_forecasting
from clinicflow.bootstrap.identity import IdentityParts, wire_identity
from clinicflow.bootstrap.integrations import Integrations, wire_integrations
from clinicflow.bootstrap.microsoft import Microsoft, wire_microsoft
from clinicflow.bootstrap.notifications import Notifications, wire_notifications
from clinicflow.bootstrap.operations import wire_bus, wire_jobs
from clinicflow.bootstrap.patients import wire_patients
from clinicflow.bootstrap.payments import Payments, wire_payments
from clinicflow.bootstrap.planning import PlanningParts, wire_planning
from clinicflow.bootstrap.waitlist import load_policy, wire_waitlist
from clinicflow.bootstrap.webhooks import Webhooks, wire_webhooks
from clinicflow.calendars.feeds.service import PractitionerFeeds
from clinicflow.calendars.page_bookings.service import CalendlyImports
from clinicflow.calendars.page_bookings.subscribers import PageBookingChanges
from clinicflow.calendars.ports import BusyFeed
from clinicflow.calendars.service import CalendarsService
from clinicflow.calendars.subscriptions.service import ChangeNotifications
from clinicflow.catalog import Catalog
from clinicflow.catalog.service import LaunchState, load_catalog
from clinicflow.fhir.smart.service import SmartTokens
from clinicflow.flags import FlagService
from clinicflow.forecasting.demand.service import DemandForecasts
from clinicflow.forecasting.risks.service import BookingRisks
from clinicflow.forecasting.scheduling.service import ScheduleProposals
from clinicflow.forecasting.service import RiskReports
from clinicflow.identity import (
    Authenticator,
    Mailer,
    PatientLinks,
    SessionStore,
    TokenService,
    UserService,
)
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.events import EventBus
from clinicflow.infra.jobs import Jobs
from clinicflow.infra.live_keys import LiveKeyRing
from clinicflow.infra.web import Provided
from clinicflow.integrations.service import ConflictDesk, EhrWebhookIntake
from clinicflow.notifications.callbacks.service import ProviderWebhooks
from clinicflow.notifications.messages.service import NotificationReader
from clinicflow.notifications.push.service import PushRegistry
from clinicflow.patients.records.service import PatientReader, PatientService
from clinicflow.payments.checkout.service import CheckoutService
from clinicflow.payments.gateway_events.service import WebhookProcessor
from clinicflow.payments.ledger.service import RevenueReader
from clinicflow.payments.orders.service import OrderService
from clinicflow.payments.quotes.service import QuoteService
from clinicflow.payments.receipts.service import ReceiptService
from clinicflow.payments.refunds.service import RefundService
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock, SystemClock
from clinicflow.waitlist import Waitlist
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.web.paying import PayOptions
from clinicflow.web.security import WebKeys
from clinicflow.webhooks.service import WebhookService


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
    identity: IdentityParts  # users, sessions, patients' sign-in links, API keys, tokens
    mailer: Mailer  # the clinic's one email sender, for plain messages
    notifications: Notifications
    webhooks: Webhooks
    payments: Payments
    microsoft: Microsoft  # Microsoft 365 calendars (write-back, notifications)
    calendly: CalendlyParts  # the Calendly feed (None without a token) and page-booking imports
    bus: EventBus
    flags: FlagService
    calendars: Calendars  # the external calendars' busy-time store and its sync
    integrations: Integrations  # the EHR (MediRecords) and CRM (HubSpot) syncs
    jobs: Jobs  # periodic work: due reminders …; run by the worker (and serve, embedded)
    analytics: AnalyticsParts  # the lake and its writer (docs/analytics.md "The lake")
    forecasting: ForecastingParts  # the no-show and churn models (docs/ml.md)
    smart: SmartParts  # the FHIR API's SMART Backend Services clients and tokens
    planning: PlanningParts  # demand forecast, waitlist conversion, schedule proposals
    http: httpx.AsyncClient = field(repr=False)
    # Every provider's circuit breaker, for metrics and health pages.
    breakers: list[CircuitBreaker | GatewayBreaker] = field(default_factory=list)
    # What routes reach, by class (infra/web.py): read from the fields above.
    provided: Provided = field(init=False, repr=False)
    web_keys: WebKeys = field(init=False, repr=False)  # the pages' CSRF and pass keys
    pay_options: PayOptions = field(init=False)  # what the booking site's pay step offers

    def __post_init__(self) -> None:
        self.web_keys = WebKeys.derived(self.keys.index_key)
        self.pay_options = PayOptions.of(self.settings)
        self.provided = _provided(self)

    async def aclose(self) -> None:
        await self.jobs.stop()
        await self.analytics.views.flush_quietly()  # the availability views counted so far
        await self.bus.aclose()
        await self.http.aclose()
        await self.db.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    http: httpx.AsyncClient | None = None,
    feeds: Sequence[BusyFeed] | None = None,
    policy: WaitlistPolicy | None = None,
    keys: LiveKeyRing | None = None,
    database: Database | None = None,
) -> Container:
    """`feeds`: the external calendars to read busy time from (None: those the settings
    configure, bootstrap/calendars.py). `catalog` and `policy` (the clinic file's services and
    its waitlist section), when given, are taken as already read from `settings.config_path`;
    otherwise each is read once here (the waitlist, its conversion model and the planning
    models share the one policy). `keys`, when given, is the ring of
    `settings.resolved_keys_file`, opened by a caller that knows the database holds nothing
    sealed under another ring (a test's fresh copy of the migrated template); otherwise the
    start-up check opens it (bootstrap/_keys.py: it refuses a ring that lacks a key the
    stored data needs). `database`, when given, is one over `settings.database_url` the
    container takes as its own (and closes with it)."""
    policy = policy or load_policy(settings.config_path)
    core = open_core(
        settings,
        clock=clock or SystemClock(),
        catalog=catalog or load_catalog(settings.config_path),
        http=http,
        keys=keys,
        db=database,
    )
    patients = wire_patients(core)

    async def notified(source: str, practitioner: str) -> None:
        # A Microsoft 365 change notification: catch that mailbox up by its delta cursor.
        await calendars.service.sync(source, [practitioner])

    microsoft = wire_microsoft(core, on_change=notified)
    # Calendly's page bookings are booked through booking's use cases and pushed into the
    # busy-time store, both wired just below (read when a webhook arrives, not now).
    calendly = wire_calendly(
        core, bookings=lambda: booking.bookings, store=lambda: calendars.service
    )
    # Calendly's page bookings meet their own Calendly events in the store and in the live
    # check; the store leaves those out while they are imported (calendars/repository.py).
    calendars = wire_calendars(core, feeds=feeds, extra=[microsoft.calendar, calendly.feed])
    booking = wire_booking(core, patients=patients.directory, elsewhere=[calendars.stored])
    # A change in the external calendars' store drops those practitioners' cached answers.
    calendars.service.listeners.add(booking.availability.calendars_changed)
    analytics = wire_analytics(core)
    forecasting = wire_forecasting(core, analytics.lake, policy)
    messaging = wire_notifications(core, consent=patients.consent, risks=forecasting.risks)
    identity = wire_identity(core, patients=patients.directory, mailer=messaging.mailer)
    webhooks = wire_webhooks(core)
    flags = core.flags
    paying = wire_payments(core, bookings=booking.bookings, names=patients.names, flags=flags)
    waitlist = wire_waitlist(
        core, desk=booking.desk, mailer=messaging.mailer, flags=flags, policy=policy
    )
    notifications = messaging.notifications
    integrations = wire_integrations(core, patients=patients)
    return Container(
        settings=settings,
        catalog=core.catalog,  # launched services read as active
        launches=core.launches,
        clock=core.clock,
        db=core.db,
        keys=core.keys,
        trail=core.trail,
        availability=booking.availability,
        bookings=booking.bookings,
        booking_reads=booking.reads,
        patients=patients.service,
        patient_reads=patients.reads,
        waitlist=waitlist,
        identity=identity,
        mailer=messaging.mailer,
        notifications=notifications,
        webhooks=webhooks,
        payments=paying.payments,
        microsoft=microsoft,
        calendly=calendly,
        bus=wire_bus(
            core,
            notifications=notifications,
            webhooks=webhooks,
            payments=paying.payments,
            waitlist=waitlist,
            calendar=microsoft.write_back,
            ehr=integrations.ehr,
            extra=[
                *([PageBookingChanges(calendly.imports)] if calendly.feed else []),
                *integrations.subscribers,
            ],
        ),
        flags=flags,
        jobs=wire_jobs(
            core,
            notifications=notifications,
            webhooks=webhooks,
            waitlist=waitlist,
            calendars=calendars,
            extra=[*microsoft.jobs(), analytics.job, forecasting.job],
        ),
        analytics=analytics,
        forecasting=forecasting,
        smart=wire_fhir(core),
        planning=wire_planning(core, analytics.lake, policy),
        calendars=calendars,
        integrations=integrations,
        http=core.http,
        breakers=[
            *paying.breakers,
            *calendars.breakers,
            *([calendly.breaker] if calendly.breaker else []),
            *integrations.breakers,
        ],
    )


def _provided(c: Container) -> Provided:
    """The parts routes depend on, each under the class its routes ask for (`provided(...)`
    in their api modules), read from `c` on each request. mypy checks each line: the part
    must be a `cls`."""
    provided = Provided(clock=lambda: c.clock)
    provided.add(Catalog)(lambda: c.catalog)
    provided.add(LaunchState)(lambda: c.launches)
    provided.add(Database)(lambda: c.db)  # the audit log's reads
    provided.add(CachedAvailability)(lambda: c.availability)
    provided.add(BookingService)(lambda: c.bookings)
    provided.add(BookingReader)(lambda: c.booking_reads)
    provided.add(PatientService)(lambda: c.patients)
    provided.add(PatientReader)(lambda: c.patient_reads)
    provided.add(UserService)(lambda: c.identity.users)
    provided.add(SessionStore)(lambda: c.identity.sessions)
    provided.add(PatientLinks)(lambda: c.identity.patient_links)
    provided.add(TokenService)(lambda: c.identity.tokens)
    provided.add(NotificationReader)(lambda: c.notifications.reader)
    provided.add(ProviderWebhooks)(lambda: c.notifications.webhooks)
    provided.add(PushRegistry)(lambda: c.notifications.push)
    provided.add(WebhookService)(lambda: c.webhooks.service)
    provided.add(QuoteService)(lambda: c.payments.quotes)
    provided.add(CheckoutService)(lambda: c.payments.checkout)
    provided.add(OrderService)(lambda: c.payments.orders)
    provided.add(RefundService)(lambda: c.payments.refunds)
    provided.add(ReceiptService)(lambda: c.payments.receipts)
    provided.add(RevenueReader)(lambda: c.payments.revenue)
    provided.add(WebhookProcessor)(lambda: c.payments.webhooks)
    provided.add(Waitlist)(lambda: c.waitlist)
    provided.add(CalendlyImports)(lambda: c.calendly.imports)
    provided.add(CalendarsService)(lambda: c.calendars.service)
    provided.add(PractitionerFeeds)(lambda: c.calendars.practitioner_feeds)
    provided.add(FlagService)(lambda: c.flags)
    provided.add(WebKeys)(lambda: c.web_keys)
    provided.add(PayOptions)(lambda: c.pay_options)
    provided.add(ChangeNotifications)(lambda: c.microsoft.notifications)
    provided.add(AnalyticsReports)(lambda: c.analytics.reports)
    provided.add(RiskReports)(lambda: c.forecasting.reports)
    provided.add(BookingRisks)(lambda: c.forecasting.risks)
    provided.add(DemandForecasts)(lambda: c.planning.demand)
    provided.add(ScheduleProposals)(lambda: c.planning.schedule)
    provided.add(EhrWebhookIntake)(lambda: c.integrations.intake)
    provided.add(ConflictDesk)(lambda: c.integrations.desk)
    provided.add(SmartTokens)(lambda: c.smart.tokens)
    provided.add(Authenticator)(lambda: c.identity.authenticator)  # the gateway's authentication
    return provided
