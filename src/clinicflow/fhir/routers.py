"""The routers the gateway mounts for the FHIR API, and what its bodies may be."""

from __future__ import annotations

from fastapi import APIRouter

from clinicflow.fhir import catalog_routes, operations, record_routes
from clinicflow.fhir.outcome import FHIR_JSON
from clinicflow.fhir.smart import api as smart_api

# `$find`, `$hold` and `$book` before `Appointment/{id}`, which would otherwise take them.
ROUTERS: tuple[APIRouter, ...] = (
    smart_api.router,
    operations.router,
    catalog_routes.router,
    record_routes.router,
)
TOKEN_PATH = smart_api.TOKEN_PATH
# Resources as FHIR JSON (or plain JSON), JSON Patch for PATCH.
BODY_TYPES = frozenset({FHIR_JSON, "application/json", "application/json-patch+json"})
