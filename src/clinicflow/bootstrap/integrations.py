"""The EHR (MediRecords) and CRM (HubSpot) wiring: their adapters when configured, the sync
services over them, the bus subscribers, and the patients context's records read and changed
on their behalf through its use cases (audited, as an API client of the patients scopes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from clinicflow.adapters._resilience import CircuitBreaker
from clinicflow.adapters.crm.hubspot import HubSpotContacts
from clinicflow.adapters.ehr.medirecords import MediRecordsClient, MediRecordsEhr
from clinicflow.adapters.ehr.medirecords_webhooks import MediRecordsNotices
from clinicflow.adapters.ehr.noop import NoEhr
from clinicflow.bootstrap.core import Core
from clinicflow.bootstrap.patients import PatientParts
from clinicflow.infra.bus import Subscriber
from clinicflow.infra.unit_of_work import Factory
from clinicflow.integrations.domain.crm import MARKETING, MarketingCandidate
from clinicflow.integrations.domain.ehr import Demographics, fhir_gender, sex_of
from clinicflow.integrations.ports import EhrSync
from clinicflow.integrations.repository import SqlIntegrationsUnitOfWork
from clinicflow.integrations.service import (
    ConflictDesk,
    CrmSyncService,
    EhrSyncService,
    EhrWebhookIntake,
)
from clinicflow.integrations.subscribers import CrmSubscriber, EhrErasure, EhrPatientChanges
from clinicflow.patients import InvalidContact, normalize_email, normalize_phone
from clinicflow.patients.commands import PatientChanges
from clinicflow.patients.domain.patient import ACTIVE, Patient, PatientFields
from clinicflow.patients.records.service import PatientReader, PatientService
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import NotFound

# The integrations act on patient records as API clients would, with the scopes they need,
# so the records' rules and audit apply to them as to any caller.
EHR_ACTOR = Actor(
    kind="client",
    id="integration:medirecords",
    role=Role.CLIENT,
    scopes=frozenset({"patients:read", "patients:write"}),
    tier="system",
)
CRM_ACTOR = Actor(
    kind="client",
    id="integration:crm",
    role=Role.CLIENT,
    scopes=frozenset({"patients:read"}),
    tier="system",
)


class AuditedPatientRecords:
    """integrations.ports.PatientRecords over the patients context's use cases."""

    def __init__(self, reader: PatientReader, service: PatientService, actor: Actor) -> None:
        self._reader = reader
        self._service = service
        self._actor = actor

    async def _record(self, patient_id: str) -> Patient | None:
        try:
            patient = await self._reader.get(self._actor, patient_id)
        except NotFound:
            return None
        return patient if patient.status == ACTIVE else None

    async def demographics(self, patient_id: str) -> Demographics | None:
        p = await self._record(patient_id)
        if p is None:
            return None
        return Demographics(
            given=p.first_name,
            family=p.last_name,
            birth_date=p.birth_date,
            gender=fhir_gender(p.sex),
            email=p.email,
            phone=p.phone,
        )

    async def apply(self, patient_id: str, theirs: Demographics, fields: Sequence[str]) -> None:
        values = PatientFields()
        wanted = set(fields)
        if "given" in wanted and theirs.given:
            values["first_name"] = theirs.given
        if "family" in wanted and theirs.family:
            values["last_name"] = theirs.family
        if "birth_date" in wanted and theirs.birth_date:
            values["birth_date"] = theirs.birth_date
        sex = sex_of(theirs.gender)
        if "gender" in wanted and sex:
            values["sex"] = sex
        email = _valid(normalize_email, theirs.email) if "email" in wanted else None
        if email:
            values["email"] = email
        phone = _valid(normalize_phone, theirs.phone) if "phone" in wanted else None
        if phone:
            values["phone"] = phone
        if values:
            await self._service.update(self._actor, patient_id, PatientChanges(values))

    async def marketing(self, patient_id: str) -> MarketingCandidate | None:
        p = await self._record(patient_id)
        if p is None:
            return None
        consent = p.contact_prefs.get(MARKETING) or {}
        return MarketingCandidate(p.email, p.first_name, p.last_name, bool(consent.get("opt_in")))


def _valid(normalize: Callable[[str], str], value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize(value)
    except InvalidContact:
        return None


@dataclass(frozen=True)
class Integrations:
    ehr: EhrSync  # the bus's EHR subscriber calls this
    sync: EhrSyncService | None  # None: MediRecords not configured
    intake: EhrWebhookIntake  # POST /v1/webhooks/medirecords
    desk: ConflictDesk  # the conflicts' routes
    crm: CrmSyncService | None
    subscribers: list[Subscriber] = field(default_factory=list)
    breakers: list[CircuitBreaker] = field(default_factory=list)


def wire_integrations(core: Core, *, patients: PatientParts) -> Integrations:
    settings = core.settings
    uow = Factory(core.db, SqlIntegrationsUnitOfWork)
    sync: EhrSyncService | None = None
    subscribers: list[Subscriber] = []
    breakers: list[CircuitBreaker] = []
    token = settings.medirecords_token
    if settings.medirecords_url and token is not None:
        client = MediRecordsClient(
            core.http,
            settings.medirecords_url,
            token.get_secret_value(),
            timeout=settings.medirecords_timeout_seconds,
        )
        adapter = MediRecordsEhr(
            client,
            patient_system=settings.medirecords_patient_system,
            booking_system=settings.medirecords_booking_system,
        )
        keys = core.keys
        sync = EhrSyncService(
            ehr=adapter,
            patients=AuditedPatientRecords(patients.reads, patients.service, EHR_ACTOR),
            uow=uow,
            clock=core.clock,
            digest=lambda text: keys.blind_index(text, context="ehr_sync"),
            push_visits=settings.medirecords_push_visits,
        )
        subscribers += [EhrPatientChanges(sync), EhrErasure(sync)]
        breakers.append(adapter.breaker)
    webhook_key = settings.medirecords_webhook_key
    notices = (
        MediRecordsNotices(webhook_key.get_secret_value())
        if sync is not None and webhook_key is not None
        else None
    )
    crm: CrmSyncService | None = None
    if settings.hubspot_token is not None:
        hubspot = HubSpotContacts(
            core.http, settings.hubspot_token.get_secret_value(), base_url=settings.hubspot_url
        )
        crm = CrmSyncService(
            crm=hubspot,
            patients=AuditedPatientRecords(patients.reads, patients.service, CRM_ACTOR),
        )
        subscribers.append(CrmSubscriber(crm))
        breakers.append(hubspot.breaker)
    return Integrations(
        ehr=sync if sync is not None else NoEhr(),
        sync=sync,
        intake=EhrWebhookIntake(notices=notices, uow=uow, clock=core.clock),
        desk=ConflictDesk(uow=uow, trail=core.trail, clock=core.clock, sync=sync),
        crm=crm,
        subscribers=subscribers,
        breakers=breakers,
    )
