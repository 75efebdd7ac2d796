"""The clinic's configuration: what is offered, by whom, when, and at what price."""

from clinicflow.catalog.domain import (
    Catalog,
    Clinic,
    Practitioner,
    Service,
    ServicePolicy,
    TimeOff,
    VisitType,
)
from clinicflow.shared.hours import LocalInterval

__all__ = [
    "Catalog",
    "Clinic",
    "LocalInterval",
    "Practitioner",
    "Service",
    "ServicePolicy",
    "TimeOff",
    "VisitType",
]
