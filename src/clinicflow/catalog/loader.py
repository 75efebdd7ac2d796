"""Reads config/clinic.yaml into a `Catalog`, reporting every problem in the file at once.

Each problem names the file, the key path as the user wrote it
(`practitioners.doctor1.hours.mon[1]`), what is wrong and what to change. Structure and values
are checked by Pydantic (`_schema`), references between sections by `_checks`; nothing is
built until the whole file is sound.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from clinicflow.catalog._checks import Issue, reference_issues, schema_issues
from clinicflow.catalog._document import DocumentSpec
from clinicflow.catalog._payments import build_payments
from clinicflow.catalog._schema import (
    WEEKDAYS,
    PolicySpec,
    PractitionerSpec,
    ServiceSettingsSpec,
    ServiceSpec,
)
from clinicflow.catalog.domain import (
    Catalog,
    Clinic,
    Practitioner,
    RetentionPolicy,
    Service,
    ServicePolicy,
    TimeOff,
    VisitType,
)
from clinicflow.shared.hours import LocalInterval

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "check_config",
    "format_problems",
    "load_catalog",
    "load_catalog_from_text",
]

_SECTIONS = "clinic, services and practitioners (optional: policy_defaults, service_settings)"


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    path: str  # dotted key path with [i] for list items; "" for the file as a whole
    message: str
    line: int | None = field(default=None, compare=False)  # 1-based, where YAML tells us

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        line = f" (line {self.line})" if self.line is not None else ""
        return f"{where}{self.message}{line}"


def format_problems(problems: Iterable[ConfigProblem]) -> str:
    return "\n".join(str(problem) for problem in problems)


class ConfigError(Exception):
    def __init__(self, problems: Sequence[ConfigProblem], file: str | None = None) -> None:
        self.problems = list(problems)
        self.file = file if file is not None else (problems[0].file if problems else "?")
        count = len(self.problems)
        header = f"invalid clinic configuration in {self.file}: {count} problem" + (
            "" if count == 1 else "s"
        )
        super().__init__("\n".join([header, format_problems(self.problems)]))


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


def _parse(text: str) -> tuple[Any, dict[str, int], list[Issue]]:
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
    payments = build_payments(spec.payments)
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
    values: dict[str, Any] = {}
    for layer in layers:
        if layer is not None:
            values.update(layer.model_dump(exclude_none=True, include=set(PolicySpec.model_fields)))
    if "reminder_minutes" in values:
        values["reminder_minutes"] = tuple(sorted(set(values["reminder_minutes"]), reverse=True))
    return dataclasses.replace(ServicePolicy(), **values)


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
    )


def _day(ranges: Iterable[LocalInterval]) -> tuple[LocalInterval, ...]:
    return tuple(sorted(ranges, key=lambda interval: interval.start))
