"""References across the sections of config/clinic.yaml: calendars, services and visit types
named in one place exist where they are defined.

These read the raw YAML data rather than the validated model, so an unknown calendar is
reported even when another part of the same file fails validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Issue = tuple[str, str]  # (key path, message)


def reference_issues(data: Mapping[str, object]) -> list[Issue]:
    services = _entries(data.get("services"))
    practitioners = _entries(data.get("practitioners"))
    settings = _entries(data.get("service_settings"))
    issues: list[Issue] = []
    # A missing section is reported once, not as every reference into it.
    if isinstance(data.get("practitioners"), Mapping):
        issues += _calendar_refs(services, practitioners)
    if isinstance(data.get("services"), Mapping):
        issues += _service_refs(practitioners, services)
        issues += [
            (f"service_settings.{key}", _unknown_service(key, services))
            for key in settings
            if key not in services
        ]
    for key, service in services.items():
        issues += _price_pairs(_entries(service), f"services.{key}")
    issues += _shared_mailboxes(practitioners)
    if isinstance(data.get("services"), Mapping):
        issues += _payments_refs(_entries(data.get("payments")), services)
        issues += _calendly_refs(practitioners, services)
    return issues


def _entries(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _names(value: object) -> list[tuple[int, str]]:
    return (
        [(i, v) for i, v in enumerate(value) if isinstance(v, str)]
        if isinstance(value, list)
        else []
    )


def _listing(keys: Iterable[str]) -> str:
    return ", ".join(keys) or "none"


def _calendar_refs(services: dict[str, object], practitioners: dict[str, object]) -> list[Issue]:
    return [
        (
            f"services.{key}.calendars[{i}]",
            f"unknown calendar '{name}'; defined calendars: {_listing(practitioners)}; "
            "fix the name or add the calendar under practitioners",
        )
        for key, service in services.items()
        for i, name in _names(_entries(service).get("calendars"))
        if name not in practitioners
    ]


def _service_refs(practitioners: dict[str, object], services: dict[str, object]) -> list[Issue]:
    return [
        (f"practitioners.{key}.services[{i}]", _unknown_service(name, services))
        for key, practitioner in practitioners.items()
        for i, name in _names(_entries(practitioner).get("services"))
        if name not in services
    ]


def _shared_mailboxes(practitioners: dict[str, object]) -> list[Issue]:
    """One mailbox per practitioner: a shared one would write two people's visits into one
    calendar and read its busy time as both of theirs."""
    seen: dict[str, str] = {}
    issues: list[Issue] = []
    for key, practitioner in practitioners.items():
        mailbox = _entries(_entries(practitioner).get("microsoft")).get("mailbox")
        if not isinstance(mailbox, str):
            continue
        owner = seen.setdefault(mailbox.strip().lower(), key)
        if owner != key:
            issues.append(
                (
                    f"practitioners.{key}.microsoft.mailbox",
                    f"mailbox {mailbox.strip()!r} is already {owner}'s; give each practitioner "
                    "their own mailbox",
                )
            )
    return issues


def _unknown_service(name: str, services: dict[str, object]) -> str:
    return (
        f"unknown service '{name}'; services: {_listing(services)}; "
        "fix the name or add the service under services"
    )


def _price_pairs(service: dict[str, object], base: str) -> list[Issue]:
    """Every visit type (a key of `durations`) has a price and every price has a visit type."""
    durations = _entries(service.get("durations"))
    pricing = _entries(service.get("pricing"))
    issues = [
        (
            f"{base}.pricing.{name}",
            f"'{name}' names no visit type; visit types are the keys of durations "
            f"({_listing(durations)}); rename it or add durations.{name}",
        )
        for name in pricing
        if name not in durations
    ]
    has_pricing = isinstance(service.get("pricing"), Mapping)
    if has_pricing or ("pricing" not in service and service.get("active") is True):
        where = f"{base}.pricing" if has_pricing else base
        issues += [
            (where, f"visit type '{name}' has no price; add pricing.{name} in US dollars, or TBD")
            for name in durations
            if name not in pricing
        ]
    return issues


def _payments_refs(payments: dict[str, object], services: dict[str, object]) -> list[Issue]:
    """Packages, promotions and the HSA/FSA list name services (and visit types) that exist."""
    issues: list[Issue] = []
    for key, package in _entries(payments.get("packages")).items():
        includes = _entries(package).get("includes")
        for i, item in enumerate(includes if isinstance(includes, list) else []):
            issues += _package_item_refs(_entries(item), services, f"payments.packages.{key}", i)
    for code, promotion in _entries(payments.get("promotions")).items():
        issues += _promotion_refs(code, _entries(promotion), services)
    issues += [
        (f"payments.hsa_fsa_eligible[{i}]", _unknown_service(name, services))
        for i, name in _names(payments.get("hsa_fsa_eligible"))
        if name not in services
    ]
    return issues


def _promotion_refs(
    code: str, promotion: dict[str, object], services: dict[str, object]
) -> list[Issue]:
    """Its services exist, and each visit type it names is one of those services' types."""
    base = f"payments.promotions.{code}"
    issues: list[Issue] = [
        (f"{base}.services[{i}]", _unknown_service(name, services))
        for i, name in _names(promotion.get("services"))
        if name not in services
    ]
    named = [n for _, n in _names(promotion.get("services"))] or list(services)
    types = {t for s in named for t in _entries(_entries(services.get(s)).get("durations"))}
    issues += [
        (
            f"{base}.visit_types[{i}]",
            f"'{name}' is not a visit type of its services; their visit types: "
            f"{_listing(sorted(types))}; fix the name or leave visit_types out",
        )
        for i, name in _names(promotion.get("visit_types"))
        if name not in types
    ]
    return issues


def _package_item_refs(
    item: dict[str, object], services: dict[str, object], base: str, i: int
) -> list[Issue]:
    service, visit_type = item.get("service"), item.get("visit_type")
    where = f"{base}.includes[{i}]"
    if not isinstance(service, str):
        return []
    if service not in services:
        return [(f"{where}.service", _unknown_service(service, services))]
    durations = _entries(_entries(services[service]).get("durations"))
    if isinstance(visit_type, str) and visit_type not in durations:
        return [
            (
                f"{where}.visit_type",
                f"'{visit_type}' is not a visit type of {service}; its visit types: "
                f"{_listing(durations)}; fix the name or add durations.{visit_type} to "
                "the service",
            )
        ]
    return []


def _calendly_refs(practitioners: dict[str, object], services: dict[str, object]) -> list[Issue]:
    """Each Calendly event type books a visit type of a service its practitioner offers, and
    no Calendly user or event type belongs to two practitioners."""
    issues: list[Issue] = []
    owners: dict[str, str] = {}
    for key, practitioner in practitioners.items():
        block = _entries(_entries(practitioner).get("calendly"))
        base = f"practitioners.{key}.calendly"
        user = block.get("user")
        if isinstance(user, str):
            issues += _owned_once(owners, user, key, f"{base}.user")
        types = block.get("event_types")
        offered = _offered_by(key, _entries(practitioner), services)
        for i, entry in enumerate(types if isinstance(types, list) else []):
            item = _entries(entry)
            where = f"{base}.event_types[{i}]"
            if isinstance(item.get("uri"), str):
                issues += _owned_once(owners, str(item["uri"]), key, f"{where}.uri")
            issues += _event_type_visit(item, services, offered, key, where)
    return issues


def _offered_by(key: str, practitioner: dict[str, object], services: dict[str, object]) -> set[str]:
    listed = {name for _, name in _names(practitioner.get("services"))}
    return listed | {
        name
        for name, service in services.items()
        if key in [n for _, n in _names(_entries(service).get("calendars"))]
    }


def _owned_once(owners: dict[str, str], uri: str, key: str, where: str) -> list[Issue]:
    owner = owners.setdefault(uri, key)
    if owner == key:
        return []
    return [(where, f"{uri} is {owner}'s already; a Calendly URI belongs to one practitioner")]


def _event_type_visit(
    item: dict[str, object],
    services: dict[str, object],
    offered: set[str],
    key: str,
    where: str,
) -> list[Issue]:
    service, visit_type = item.get("service"), item.get("visit_type")
    if not isinstance(service, str):
        return []
    if service not in services:
        return [(f"{where}.service", _unknown_service(service, services))]
    if service not in offered:
        return [
            (
                f"{where}.service",
                f"{key} does not offer {service} (services: {_listing(sorted(offered))}); "
                f"add {key} to services.{service}.calendars or pick another service",
            )
        ]
    durations = _entries(_entries(services[service]).get("durations"))
    if isinstance(visit_type, str) and visit_type not in durations:
        return [
            (
                f"{where}.visit_type",
                f"'{visit_type}' is not a visit type of {service}; its visit types: "
                f"{_listing(durations)}",
            )
        ]
    return []
