"""Problems as (key path, message): Pydantic's errors translated, and references across sections.

The reference checks read the raw YAML data rather than the validated model, so an unknown
calendar is reported even when another part of the same file fails validation.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from clinicflow.catalog._document import DocumentSpec

Issue = tuple[str, str]  # (key path, message)

_PLAIN = {
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "dict_type": "must be a mapping of keys to values (one 'key: value' per line)",
    "list_type": "must be a list, like [a, b] or one '- item' per line",
    "too_short": "is empty; add at least one entry",
}


def path_of(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def schema_issues(error: ValidationError) -> list[Issue]:
    return [_translate(detail) for detail in error.errors(include_url=False)]


def _translate(detail: ErrorDetails) -> Issue:
    loc, kind, ctx = tuple(detail["loc"]), detail["type"], detail.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a mapping's key failed, not its value
        loc = loc[:-1]
    if kind == "config":
        return path_of(loc) + str(ctx.get("at", "")), str(ctx["reason"])
    if kind == "extra_forbidden":
        return path_of(loc), unknown_key(str(loc[-1]), allowed_keys(loc[:-1]))
    if kind == "missing":
        if len(loc) == 1:
            return "", f"missing required section '{loc[0]}'; add a top-level '{loc[0]}:' block"
        return path_of(loc[:-1]), f"missing required key '{loc[-1]}'; add it"
    if kind == "model_type":
        return path_of(loc), "must be a mapping with the keys: " + ", ".join(allowed_keys(loc))
    return path_of(loc), _PLAIN.get(kind, detail["msg"])


def unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'; allowed: {', '.join(allowed)}{hint}"


def allowed_keys(loc: Sequence[int | str]) -> list[str]:
    model = _model_at(loc)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model that validates the value at `loc`, found by walking the annotations."""
    kind: Any = DocumentSpec
    for part in loc:
        kind = _unwrap(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            if field is None:
                return None
            kind = field.annotation
        elif get_origin(kind) in (list, dict):
            kind = get_args(kind)[-1]
        else:
            return None
    kind = _unwrap(kind)
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _unwrap(kind: Any) -> Any:
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, UnionType):
            kind = next(arg for arg in get_args(kind) if arg is not type(None))
        else:
            return kind


def reference_issues(data: Mapping[str, Any]) -> list[Issue]:
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
    if isinstance(data.get("services"), Mapping):
        issues += _payments_refs(_entries(data.get("payments")), services)
    return issues


def _entries(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _names(value: object) -> list[tuple[int, str]]:
    return (
        [(i, v) for i, v in enumerate(value) if isinstance(v, str)]
        if isinstance(value, list)
        else []
    )


def _listing(keys: Iterable[str]) -> str:
    return ", ".join(keys) or "none"


def _calendar_refs(services: dict[str, Any], practitioners: dict[str, Any]) -> list[Issue]:
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


def _service_refs(practitioners: dict[str, Any], services: dict[str, Any]) -> list[Issue]:
    return [
        (f"practitioners.{key}.services[{i}]", _unknown_service(name, services))
        for key, practitioner in practitioners.items()
        for i, name in _names(_entries(practitioner).get("services"))
        if name not in services
    ]


def _unknown_service(name: str, services: dict[str, Any]) -> str:
    return (
        f"unknown service '{name}'; services: {_listing(services)}; "
        "fix the name or add the service under services"
    )


def _price_pairs(service: dict[str, Any], base: str) -> list[Issue]:
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


def _payments_refs(payments: dict[str, Any], services: dict[str, Any]) -> list[Issue]:
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


def _promotion_refs(code: str, promotion: dict[str, Any], services: dict[str, Any]) -> list[Issue]:
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
    item: dict[str, Any], services: dict[str, Any], base: str, i: int
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
