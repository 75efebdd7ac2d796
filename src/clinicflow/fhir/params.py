"""Reading FHIR search parameters and request bodies: date prefixes (`ge2026-12-01`),
references (`Practitioner/doctor1`), tokens (`system|code`), and JSON resources or
Parameters."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request

from clinicflow.shared.errors import DomainError, InvalidRequest
from clinicflow.shared.numerals import is_decimal

PREFIXES = ("ge", "gt", "le", "lt", "eq", "sa", "eb")


class MalformedBody(DomainError, code="malformed_body", status=400, title="Malformed body"):
    """The body is not a JSON object (a FHIR resource)."""


def _moment(text: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a FHIR date or dateTime value covers: a day is its whole local day."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if not 1900 <= day.year <= 2200:
                raise ValueError(text)
            lo = datetime.combine(day, time(0), tzinfo=tz)
            return lo, lo + timedelta(days=1)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"date {text[:40]!r}: give YYYY-MM-DD or an ISO 8601 date-time, optionally "
            f"prefixed with {', '.join(PREFIXES[:5])}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    if not 1900 <= moment.year <= 2200:
        raise InvalidRequest(f"date {text[:40]!r}: give a date between 1900 and 2200")
    return moment, moment + timedelta(minutes=1)


def date_range(values: Iterable[str], tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The window `[lo, hi)` several date parameters agree on (each narrows it)."""
    lo: datetime | None = None
    hi: datetime | None = None
    for raw in values:
        prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
        start, end = _moment(raw[2:] if raw[:2] in PREFIXES else raw, tz)
        if prefix in ("ge", "sa"):
            lo_new, hi_new = (start if prefix == "ge" else end), None
        elif prefix == "gt":
            lo_new, hi_new = end, None
        elif prefix in ("lt", "eb"):
            lo_new, hi_new = None, start
        elif prefix == "le":
            lo_new, hi_new = None, end
        else:
            lo_new, hi_new = start, end
        if lo_new is not None:
            lo = lo_new if lo is None else max(lo, lo_new)
        if hi_new is not None:
            hi = hi_new if hi is None else min(hi, hi_new)
    return lo, hi


def reference(value: str, resource_type: str) -> str:
    """The id a reference names: `Type/id`, a full URL ending so, or a bare id."""
    value = value.strip().rstrip("/")
    marker = f"{resource_type}/"
    if marker in value:
        value = value.rsplit(marker, 1)[1]
    elif "/" in value:
        raise InvalidRequest(f"{resource_type.lower()}: give a {resource_type}/<id> reference")
    return value.split("/")[0]


def token(value: str) -> str:
    """The code of a token parameter (`system|code` or `code`)."""
    return value.rsplit("|", 1)[-1].strip()


def one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidRequest(f"{name}: give it once")
    return values[0] if values else None


def number(request: Request, name: str) -> int | None:
    value = one(request, name)
    if value is None:
        return None
    if not is_decimal(value) or len(value) > 6:
        raise InvalidRequest(f"{name}: give a whole number")
    return int(value)


async def body(request: Request) -> dict[str, object]:
    raw = await request.body()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        raise MalformedBody("the body is not well-formed JSON: send a FHIR resource") from None
    if not isinstance(parsed, dict):
        raise MalformedBody("the body must be a JSON object: a FHIR resource")
    return parsed


def parameters(resource: dict[str, object]) -> dict[str, object]:
    """A Parameters resource's parts by name (value[x] or resource), or a bare resource as
    the part named for its type in lower case (`appointment`)."""
    kind = resource.get("resourceType")
    if kind != "Parameters":
        return {str(kind).lower(): resource} if isinstance(kind, str) else {}
    out: dict[str, object] = {}
    parts = resource.get("parameter")
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or not isinstance(part.get("name"), str):
            continue
        value = part.get("resource")
        if value is None:
            value = next((v for k, v in part.items() if k.startswith("value")), None)
        out.setdefault(part["name"], value)
    return out


async def patch_body(request: Request) -> list[dict[str, object]]:
    """A JSON Patch document (RFC 6902): a list of operations."""
    raw = await request.body()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        raise MalformedBody("the body is not well-formed JSON: send a JSON Patch") from None
    if not isinstance(parsed, list) or not all(isinstance(op, dict) for op in parsed):
        raise MalformedBody("the body must be a JSON Patch: a list of operations")
    return parsed
