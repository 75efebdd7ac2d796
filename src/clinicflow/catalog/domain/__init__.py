"""The clinic as configured, as plain frozen data, and the rules of its configuration file:
pure (no framework, database or I/O; an import-linter contract)."""

from clinicflow.catalog.domain.clinic import (
    CalendlyEventType,
    CalendlyLink,
    Catalog,
    Clinic,
    Practitioner,
    Service,
    ServicePolicy,
    TimeOff,
    VisitType,
)
from clinicflow.catalog.domain.launches import Launched, with_launched
from clinicflow.catalog.domain.payments import (
    BillingIdentity,
    CancellationPolicy,
    MultiServiceCount,
    MultiServiceDiscount,
    PackageItem,
    PackageOffer,
    PaymentsConfig,
    Promotion,
    Rate,
)
from clinicflow.catalog.domain.retention import RetentionPolicy, years_before

__all__ = [
    "BillingIdentity",
    "CalendlyEventType",
    "CalendlyLink",
    "CancellationPolicy",
    "Catalog",
    "Clinic",
    "Launched",
    "MultiServiceCount",
    "MultiServiceDiscount",
    "PackageItem",
    "PackageOffer",
    "PaymentsConfig",
    "Practitioner",
    "Promotion",
    "Rate",
    "RetentionPolicy",
    "Service",
    "ServicePolicy",
    "TimeOff",
    "VisitType",
    "with_launched",
    "years_before",
]
