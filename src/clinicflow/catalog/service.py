"""Loading the clinic: config/clinic.yaml read into a `Catalog`, with every problem in the
file reported at once; and which services are launched at run time, cached per process.

Structure and values are checked by Pydantic (`schemas`, over `domain.values`), references
between sections by `domain.references`; nothing is built until the whole file is sound.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from clinicflow.catalog.domain import (
    BillingIdentity,
    CalendlyEventType,
    CalendlyLink,
    CancellationPolicy,
    Catalog,
    Clinic,
    MultiServiceDiscount,
    PackageItem,
    PackageOffer,
    PaymentsConfig,
    Practitioner,
    Promotion,
    RetentionPolicy,
    Service,
    ServicePolicy,
    TimeOff,
    VisitType,
    with_launched,
)
from clinicflow.catalog.domain.calendar_links import CalDavLink
from clinicflow.catalog.domain.references import Issue, reference_issues
from clinicflow.catalog.domain.values import WEEKDAYS
from clinicflow.catalog.errors import ConfigError, ConfigProblem, schema_issues
from clinicflow.catalog.ports import CatalogUnitOfWork
from clinicflow.catalog.schemas import (
    CalendlySpec,
    DocumentSpec,
    PackageSpec,
    PaymentsSpec,
    PolicySpec,
    PractitionerSpec,
    PromotionSpec,
    ServiceSettingsSpec,
    ServiceSpec,
)
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.hours import LocalInterval

__all__ = [
    "LaunchState",
    "build_catalog",
    "check_config",
    "load_catalog",
    "load_catalog_from_text",
]

_SECTIONS = "clinic, services and practitioners (optional: policy_defaults, service_settings)"


def check_config(path: str | Path) -> list[ConfigProblem]:
    return _analyse_file(path)[1]


def load_catalog(path: str | Path) -> Catalog:
    catalog, problems = _analyse_file(path)
    if catalog is None:
        raise ConfigError(problems, str(path))
    return catalog


def load_catalog_from_text(text: str, file: str = "<text>") -> Catalog:
    catalog, problems = _analyse(text, file)
    if catalog is None:
        raise ConfigError(problems, file)
    return catalog


def _analyse_file(path: str | Path) -> tuple[Catalog | None, list[ConfigProblem]]:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [ConfigProblem(file, "", f"cannot read the file ({reason}); check the path")]
    except UnicodeDecodeError as exc:
        return None, [
            ConfigProblem(file, "", f"is not UTF-8 text ({exc.reason}); save it as UTF-8")
        ]
    return _analyse(text, file)


def _analyse(text: str, file: str) -> tuple[Catalog | None, list[ConfigProblem]]:
    try:
        data, lines, issues = _parse(text)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    except (yaml.YAMLError, ValueError) as exc:  # e.g. a date like 2026-13-45
        return None, [ConfigProblem(file, "", f"a value cannot be read ({exc}); fix it")]
    if not isinstance(data, Mapping):
        what = "is empty" if data is None else "is not a mapping of sections"
        return None, [ConfigProblem(file, "", f"{what}; it needs the sections {_SECTIONS}")]
    spec: DocumentSpec | None = None
    try:
        spec = DocumentSpec.model_validate(data)
    except ValidationError as exc:
        issues += schema_issues(exc)
    issues += reference_issues(data)
    problems = [
        ConfigProblem(file, path, message, _line_of(path, lines)) for path, message in issues
    ]
    problems.sort(key=lambda problem: problem.line or 0)
    if problems or spec is None:
        return None, problems
    return build_catalog(spec), []


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or exc.context or "unexpected text"
    column = f" at column {mark.column + 1}" if mark is not None else ""
    message = f"not valid YAML: {what}{column}; check the indentation, colons and quotes there"
    return ConfigProblem(file, "", message, mark.line + 1 if mark is not None else None)


def _parse(text: str) -> tuple[object, dict[str, int], list[Issue]]:
    """The data, the line of every key path, and keys given twice (YAML keeps only the last)."""
    # libyaml's parser when PyYAML was built with it (it is in the wheels): every process
    # start reads the file, ~10x faster than the pure-Python one, same nodes and marks.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        lines: dict[str, int] = {}
        duplicates: list[Issue] = []
        _index(node, "", lines, duplicates)
        return loader.construct_document(node), lines, duplicates
    finally:
        loader.dispose()


def _index(node: yaml.Node, path: str, lines: dict[str, int], duplicates: list[Issue]) -> None:
    if path.count(".") + path.count("[") > 20:  # deeper than any valid file; stops alias loops
        return
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault(f"{path}[{i}]", item.start_mark.line + 1)
            _index(item, f"{path}[{i}]", lines, duplicates)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            child, line = (f"{path}.{key}" if path else key), key_node.start_mark.line + 1
            if child in lines:
                message = f"'{key}' is given twice (lines {lines[child]} and {line}); keep one"
                duplicates.append((child, message))
            lines.setdefault(child, line)
            _index(value_node, child, lines, duplicates)


def _line_of(path: str, lines: Mapping[str, int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[: max(path.rfind("."), path.rfind("["), 0)]
    return None


def build_catalog(spec: DocumentSpec) -> Catalog:
    tz = ZoneInfo(spec.clinic.timezone)
    calendars = _calendars(spec)
    services = {
        key: _service(key, service, spec, calendars[key]) for key, service in spec.services.items()
    }
    practitioners = {
        key: _practitioner(key, practitioner, tz, tuple(s for s in services if key in calendars[s]))
        for key, practitioner in spec.practitioners.items()
    }
    clinic = Clinic(**spec.clinic.model_dump())
    retention = RetentionPolicy(**spec.retention.model_dump())
    payments = _payments(spec.payments)
    return Catalog(
        clinic, MappingProxyType(services), MappingProxyType(practitioners), retention, payments
    )


def _calendars(spec: DocumentSpec) -> dict[str, tuple[str, ...]]:
    """The service's own `calendars`, then practitioners listing it, in configuration order."""
    out: dict[str, tuple[str, ...]] = {}
    for key, service in spec.services.items():
        keys = list(service.calendars)
        keys += [p for p, entry in spec.practitioners.items() if key in entry.services]
        out[key] = tuple(dict.fromkeys(keys))
    return out


def _service(
    key: str, service: ServiceSpec, spec: DocumentSpec, calendars: tuple[str, ...]
) -> Service:
    settings = spec.service_settings.get(key)
    visit_types = {
        name: VisitType(
            key=name,
            durations=None if lengths is None else tuple(lengths),
            price_cents=service.pricing.get(name),
        )
        for name, lengths in service.durations.items()
    }
    return Service(
        key=key,
        name=settings.name if settings and settings.name else key.replace("_", " ").capitalize(),
        active=service.active,
        waitlist=service.waitlist,
        launch_date=service.launch_date,
        visit_types=MappingProxyType(visit_types),
        calendars=calendars,
        policy=_policy(spec.policy_defaults, settings),
    )


def _policy(*layers: PolicySpec | ServiceSettingsSpec | None) -> ServicePolicy:
    """Clinicflow's defaults, overridden by policy_defaults, overridden by the service's own."""
    fields = set(PolicySpec.model_fields)
    merged = PolicySpec()
    for layer in layers:
        if layer is not None:
            merged = merged.model_copy(update=layer.model_dump(exclude_none=True, include=fields))
    policy = dataclasses.replace(ServicePolicy(), **merged.model_dump(exclude_none=True))
    if merged.reminder_minutes is None:
        return policy
    minutes = tuple(sorted(set(merged.reminder_minutes), reverse=True))
    return dataclasses.replace(policy, reminder_minutes=minutes)


def _practitioner(
    key: str, entry: PractitionerSpec, tz: ZoneInfo, services: tuple[str, ...]
) -> Practitioner:
    weekly = {day: _day(getattr(entry.hours, name)) for day, name in enumerate(WEEKDAYS)}
    exceptions = {e.date: _day(e.hours) for e in sorted(entry.exceptions, key=lambda e: e.date)}
    time_off = tuple(
        TimeOff(start=t.start.replace(tzinfo=tz), end=t.end.replace(tzinfo=tz), reason=t.reason)
        for t in sorted(entry.time_off, key=lambda t: t.start)
    )
    return Practitioner(
        key=key,
        name=entry.name,
        title=entry.title,
        services=services,
        weekly_hours=MappingProxyType(weekly),
        exceptions=MappingProxyType(exceptions),
        time_off=time_off,
        caldav=None
        if entry.caldav is None
        else CalDavLink(entry.caldav.url, entry.caldav.username, entry.caldav.read),
        ics=tuple(entry.ics),
        microsoft_mailbox=entry.microsoft.mailbox if entry.microsoft else None,
        calendly=None if entry.calendly is None else _calendly(entry.calendly),
    )


def _calendly(spec: CalendlySpec) -> CalendlyLink:
    types = tuple(CalendlyEventType(t.uri, t.service, t.visit_type) for t in spec.event_types)
    return CalendlyLink(user=spec.user, event_types=types)


def _day(ranges: Iterable[LocalInterval]) -> tuple[LocalInterval, ...]:
    return tuple(sorted(ranges, key=lambda interval: interval.start))


def _payments(spec: PaymentsSpec) -> PaymentsConfig:
    multi = spec.multi_service_discount
    packages = {key: _package(key, package) for key, package in spec.packages.items()}
    promotions = {code: _promotion(code, promo) for code, promo in spec.promotions.items()}
    cancel = spec.cancellation
    billing = spec.billing
    return PaymentsConfig(
        multi_service_discount=MultiServiceDiscount(percent=multi.percent, count=multi.count),
        packages=MappingProxyType(packages),
        promotions=MappingProxyType(promotions),
        cancellation=CancellationPolicy(
            full_refund_hours=cancel.full_refund_hours,
            late_cancel_fee=cancel.late_cancel_fee.build(),
            no_show_fee=cancel.no_show_fee.build(),
            return_credit_on_late_cancel=cancel.return_credit_on_late_cancel,
        ),
        hsa_fsa_eligible=frozenset(spec.hsa_fsa_eligible),
        billing=None
        if billing is None
        else BillingIdentity(
            legal_name=billing.legal_name,
            address=tuple(billing.address),
            tax_id=billing.tax_id,
            phone=billing.phone,
            email=billing.email,
        ),
        pay_at_clinic=spec.pay_at_clinic,
    )


def _package(key: str, spec: PackageSpec) -> PackageOffer:
    items = tuple(PackageItem(i.service, i.visit_type, i.visits) for i in spec.includes)
    return PackageOffer(key, spec.name, spec.price, spec.valid_days, items)


def _promotion(code: str, spec: PromotionSpec) -> Promotion:
    return Promotion(
        code=code,
        discount=spec.discount.build(),
        starts=spec.starts,
        ends=spec.ends,
        max_uses=spec.max_uses,
        max_uses_per_patient=spec.max_uses_per_patient,
        services=None if spec.services is None else frozenset(spec.services),
        stacks_with_multi_service=spec.stacks_with_multi_service,
        description=spec.description,
        visit_types=None if spec.visit_types is None else frozenset(spec.visit_types),
        new_patients_only=spec.new_patients_only,
    )


class LaunchState:
    """This process's view of which services are launched, re-read at most once per `ttl`.

    A launch happens at run time and every replica must agree on it, so it is a row
    (`repository`); the set is cached here and re-read at most once per `ttl` (a launch in
    this process invalidates it at once). A use case that depends on it calls `refresh()`
    first, so the availability hot path costs no query per slot and at most one tiny query
    per `ttl`. Every context reads the one truth through `catalog(...)`.
    """

    def __init__(
        self,
        *,
        uow: UnitsOfWork[CatalogUnitOfWork],
        ttl_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._read_at: float | None = None
        self.launched: frozenset[str] = frozenset()

    async def refresh(self) -> None:
        """Re-read the launched set when the cached one is older than `ttl` (or invalidated)."""
        now = self._monotonic()
        if self._read_at is not None and now - self._read_at < self._ttl:
            return
        async with self._uow.reading() as uow:
            self.launched = await uow.launches.launched()
        self._read_at = now

    def invalidate(self) -> None:
        self._read_at = None

    def catalog(self, base: Catalog) -> Catalog:
        """`base` with every launched service reading as active, as of the last refresh."""
        return with_launched(base, self)
