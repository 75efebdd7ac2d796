"""What a join or a change may choose from the clinic's catalog: a service that keeps a
waitlist, and a practitioner who offers it. Each problem names the field to change."""

from __future__ import annotations

from clinicflow.catalog import Catalog, Service

Problems = list[tuple[str, str]]  # (field, what to change)


def service_for(catalog: Catalog, key: str) -> tuple[Service | None, Problems]:
    service = catalog.services.get(key)
    if service is None:
        return None, [unknown_service(catalog, key)]
    if not service.active and not service.waitlist:
        return None, [("service", f"{key} is not offered at present and keeps no waitlist")]
    return service, []


def unknown_service(catalog: Catalog, key: str) -> tuple[str, str]:
    keys = ", ".join(catalog.services)
    return ("service", f"no service {key!r}; choose one of {keys}")


def practitioner_problems(service: Service | None, practitioner: str | None) -> Problems:
    if service is None or practitioner is None or practitioner in service.calendars:
        return []
    if not service.calendars:
        return [("preferred_practitioner", f"no practitioner offers {service.key} yet; leave "
                 "it out")]  # fmt: skip
    offered = ", ".join(service.calendars)
    return [("preferred_practitioner", f"{practitioner!r} does not offer {service.key}; "
             f"choose one of {offered}, or leave it out")]  # fmt: skip
