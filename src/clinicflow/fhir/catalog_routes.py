"""`metadata` and the clinic's calendars as FHIR: Practitioner, HealthcareService, Schedule and
Slot, read from the catalog and the availability engine the API reads."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from clinicflow import __version__
from clinicflow.booking.api import AvailabilityDep
from clinicflow.booking.errors import ServiceNotBookable
from clinicflow.catalog import Catalog
from clinicflow.catalog.api import CatalogDep, LaunchesDep
from clinicflow.catalog.domain.clinic import Service
from clinicflow.fhir import BASE, bundles, capability, ids, params, resources
from clinicflow.fhir.access import needs
from clinicflow.fhir.outcome import FhirResponse
from clinicflow.fhir.smart.api import SmartTokensDep
from clinicflow.fhir.smart.domain.scopes import SLOT_READ
from clinicflow.infra.web import ClockDep, CurrentActor
from clinicflow.shared.errors import DomainError, NotFound

router = APIRouter(prefix=BASE, include_in_schema=False)
Json = resources.Json


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + BASE


def page(request: Request, kind: str, found: list[Json]) -> FhirResponse:
    """One page of `found`; its links repeat the request's own search."""
    count = params.number(request, "_count")
    count, offset = bundles.paging(count, params.number(request, "_offset"))
    search = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("_count", "_offset")
    ]
    return FhirResponse(bundles.searchset(base_url(request), kind, search, found, count, offset))


@router.get("/metadata")
async def metadata(request: Request, tokens: SmartTokensDep, clock: ClockDep) -> FhirResponse:
    today = clock.now().date()
    return FhirResponse(
        capability.statement(base_url(request), tokens.token_url, "clinicflow", __version__, today)
    )


@router.get("/Practitioner")
async def practitioners(request: Request, catalog: CatalogDep) -> FhirResponse:
    wanted = params.one(request, "_id")
    found = [
        resources.practitioner(p)
        for p in catalog.practitioners.values()
        if wanted is None or ids.of_key(p.key) == wanted
    ]
    return page(request, "Practitioner", found)


@router.get("/Practitioner/{fhir_id}")
async def practitioner(catalog: CatalogDep, fhir_id: str) -> FhirResponse:
    key = ids.key_of(fhir_id, catalog.practitioners)
    if key is None:
        raise NotFound(f"no Practitioner/{fhir_id[:64]}")
    return FhirResponse(resources.practitioner(catalog.practitioners[key]))


@router.get("/HealthcareService")
async def services(request: Request, catalog: CatalogDep, launches: LaunchesDep) -> FhirResponse:
    await launches.refresh()
    wanted, active = params.one(request, "_id"), params.one(request, "active")
    found = [
        resources.healthcare_service(s)
        for s in catalog.services.values()
        if (wanted is None or ids.of_key(s.key) == wanted)
        and (active is None or str(s.bookable).lower() == params.token(active))
    ]
    return page(request, "HealthcareService", found)


@router.get("/HealthcareService/{fhir_id}")
async def service(catalog: CatalogDep, launches: LaunchesDep, fhir_id: str) -> FhirResponse:
    await launches.refresh()
    key = ids.key_of(fhir_id, catalog.services)
    if key is None:
        raise NotFound(f"no HealthcareService/{fhir_id[:64]}")
    return FhirResponse(resources.healthcare_service(catalog.services[key]))


def _schedules(catalog: Catalog) -> list[tuple[str, Service]]:
    return [(p, s) for s in catalog.services.values() for p in s.calendars]


@router.get("/Schedule")
async def schedules(request: Request, catalog: CatalogDep) -> FhirResponse:
    wanted, actor_ref = params.one(request, "_id"), params.one(request, "actor")
    service_type = params.one(request, "service-type")
    found: list[Json] = []
    for p, s in _schedules(catalog):
        if wanted is not None and ids.schedule_id(p, s.key) != wanted:
            continue
        if service_type is not None and params.token(service_type) != s.key:
            continue
        if actor_ref is not None and params.reference(actor_ref, "Practitioner") not in (
            ids.of_key(p),
            ids.of_key(s.key),
        ):
            continue
        found.append(resources.schedule(catalog, p, s))
    return page(request, "Schedule", found)


@router.get("/Schedule/{fhir_id}")
async def schedule(catalog: CatalogDep, fhir_id: str) -> FhirResponse:
    found = ids.parse_schedule(fhir_id, catalog.practitioners, catalog.services)
    if found is None or found[0] not in catalog.services[found[1]].calendars:
        raise NotFound(f"no Schedule/{fhir_id[:64]}")
    return FhirResponse(resources.schedule(catalog, found[0], catalog.services[found[1]]))


@router.get("/Slot")
async def slots(
    request: Request,
    catalog: CatalogDep,
    clock: ClockDep,
    finder: AvailabilityDep,
    actor: CurrentActor,
) -> FhirResponse:
    needs(actor, SLOT_READ)
    tz = catalog.clinic.tz
    schedule_ref, service_type = (
        params.one(request, "schedule"),
        params.one(request, "service-type"),
    )
    visit_type, status = params.one(request, "appointment-type"), params.one(request, "status")
    starts = request.query_params.getlist("start")
    practitioner: str | None = None
    wanted = list(catalog.services.values())
    if schedule_ref is not None:
        pair = ids.parse_schedule(
            params.reference(schedule_ref, "Schedule"), catalog.practitioners, catalog.services
        )
        if pair is None:
            return page(request, "Slot", [])
        practitioner, wanted = pair[0], [catalog.services[pair[1]]]
    if service_type is not None:
        wanted = [s for s in wanted if s.key == params.token(service_type)]
    if status is not None and params.token(status) != "free":
        return page(request, "Slot", [])  # only open time is computed
    now = clock.now().replace(second=0, microsecond=0)
    lo, hi = params.date_range(starts, tz)
    lo = lo or now
    hi = hi or lo + timedelta(days=7)
    found: list[Json] = []
    for s in wanted:
        vt_key = params.token(visit_type) if visit_type else next(iter(s.visit_types), None)
        vt = s.visit_types.get(vt_key or "")
        if vt is None or not vt.durations:
            continue
        try:
            open_ = await finder.slots(s.key, vt.key, vt.durations[0], lo, hi, practitioner)
        except ServiceNotBookable:
            if schedule_ref is None and service_type is None:
                continue  # every service asked: the unbookable ones have no slots
            raise
        for one in open_:
            for p in one.practitioners:
                if practitioner is None or p == practitioner:
                    key = ids.SlotKey(p, s.key, vt.key, vt.durations[0], one.start)
                    found.append(resources.slot(key, s, one.end))
    return page(request, "Slot", found)


@router.get("/Slot/{fhir_id}")
async def slot(
    catalog: CatalogDep, finder: AvailabilityDep, actor: CurrentActor, fhir_id: str
) -> FhirResponse:
    needs(actor, SLOT_READ)
    visit_types = {vt for s in catalog.services.values() for vt in s.visit_types}
    key = ids.parse_slot(fhir_id, catalog.practitioners, catalog.services, visit_types)
    gone = NotFound(f"no free Slot/{fhir_id[:64]}: it is taken or past; search Slot again")
    if key is None:
        raise gone
    end = key.start + timedelta(minutes=key.duration)
    try:
        open_ = await finder.slots(
            key.service, key.visit_type, key.duration, key.start, end, key.practitioner
        )
    except DomainError:
        raise gone from None
    match = next((s for s in open_ if s.start == key.start), None)
    if match is None:
        raise gone
    return FhirResponse(resources.slot(key, catalog.services[key.service], match.end))
